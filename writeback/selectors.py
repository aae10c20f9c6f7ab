"""Reads for the unresolved-task report, the failed copies and the CRM Sync overview."""

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Concat, Lower, TruncDate

from common.lists import Sorts
from seats.models import Contract, Seat
from writeback.models import OutboxEntry, OutboxState

# The item each list shows: its seat holder, and who or what it is about.
_ITEM_RELATIONS = (
    "seat__user",
    "message__thread__member__company",
    "note__member__company",
    "note__company",
)
# Still waiting in the unresolved-task report: written open, regarding nobody.
_OPEN = Q(state=OutboxState.SENT, written_open=True)

# Who or what an item is about: the member of its thread or note ("last first"), or the company
# of a note on an account.
_ABOUT = Case(
    When(
        message__isnull=False,
        then=Concat(
            "message__thread__member__last_name", Value(" "), "message__thread__member__first_name"
        ),
    ),
    When(
        note__member__isnull=False,
        then=Concat("note__member__last_name", Value(" "), "note__member__first_name"),
    ),
    default=F("note__company__name"),
    output_field=CharField(),
)
# The report's sortable columns; newest first unless asked otherwise.
UNRESOLVED_SORTS = Sorts(
    {
        "task": ["item_type", "-sent_at"],
        "about": [Lower(_ABOUT), "-sent_at"],
        "seat": [Lower("seat__user__email"), "-sent_at"],
        "copied": ["sent_at"],
    },
    default="-copied",
)


def unresolved_list(
    *, seat: Seat, search: str = "", item_type: str = "", sort: str = "-copied"
) -> QuerySet[OutboxEntry]:
    """The LinkedIn unresolved task report: items written as open activities regarding nobody.

    A seat holder sees their own; admins (Admin and Admin only) every one of the contract's.
    Every word of ``search`` must appear in who or what the item is about, what was written or
    (for admins) the seat holder's email; ``item_type`` narrows to InMails, messages or notes.
    Sorted by ``sort`` (``UNRESOLVED_SORTS``), with what the report shows selected.
    """
    entries = OutboxEntry.objects.filter(
        contract_id=seat.contract_id, state=OutboxState.SENT, written_open=True
    )
    if not seat.is_admin:
        entries = entries.filter(seat=seat)
    if item_type:
        entries = entries.filter(item_type=item_type)
    for word in search.split()[:5]:
        matches = (
            Q(message__thread__member__first_name__icontains=word)
            | Q(message__thread__member__last_name__icontains=word)
            | Q(message__thread__member__company_name__icontains=word)
            | Q(message__body__icontains=word)
            | Q(note__member__first_name__icontains=word)
            | Q(note__member__last_name__icontains=word)
            | Q(note__company__name__icontains=word)
            | Q(note__body__icontains=word)
        )
        if seat.is_admin:
            matches |= Q(seat__user__email__icontains=word)
        entries = entries.filter(matches)
    return entries.select_related(*_ITEM_RELATIONS).order_by(*UNRESOLVED_SORTS.ordering(sort))


def deliveries_failed(*, contract: Contract) -> QuerySet[OutboxEntry]:
    """The contract's copies that stopped trying (*Failed*), latest failure first: what an admin
    sees to help their seat holders (each holder retries their own)."""
    entries = OutboxEntry.objects.filter(contract=contract, state=OutboxState.FAILED)
    return entries.select_related(*_ITEM_RELATIONS).order_by("-last_error_at", "-pk")


@dataclass(frozen=True)
class OutboxCounts:
    """The contract's copies waiting for someone: open in the unresolved-task report, failed."""

    unresolved: int
    failed: int


def outbox_counts(*, contract: Contract) -> OutboxCounts:
    """1 query."""
    counts = OutboxEntry.objects.filter(contract=contract).aggregate(
        unresolved=Count("pk", filter=_OPEN),
        failed=Count("pk", filter=Q(state=OutboxState.FAILED)),
    )
    return OutboxCounts(**counts)


@dataclass(frozen=True)
class CopiesDay:
    """The copies of one day, by where they stand now: sent and closed on their CRM record (or
    resolved since), sent open and still unresolved, failed."""

    day: date
    sent: int
    open: int
    failed: int


def copies_per_day(*, contract: Contract, since: datetime, tz: tzinfo) -> list[CopiesDay]:
    """The contract's copies that reached the CRM or failed from ``since`` on, per day (in
    ``tz``) that has any, oldest first: a sent copy on the day it was sent, a failed one on the
    day of its last failure (1 query)."""
    moment = Case(
        When(state=OutboxState.SENT, then=Coalesce("sent_at", "updated_at")),
        default=Coalesce("last_error_at", "updated_at"),
    )
    rows = (
        OutboxEntry.objects.filter(
            contract=contract, state__in=[OutboxState.SENT, OutboxState.FAILED]
        )
        .order_by()
        .annotate(moment=moment)
        .filter(moment__gte=since)
        .annotate(day=TruncDate("moment", tzinfo=tz))
        .values("day")
        .annotate(
            sent=Count("pk", filter=Q(state=OutboxState.SENT) & ~_OPEN),
            open=Count("pk", filter=_OPEN),
            failed=Count("pk", filter=Q(state=OutboxState.FAILED)),
        )
        .order_by("day")
    )
    return [CopiesDay(**row) for row in rows]
