"""Reads for the unresolved-task report, the failed copies and the CRM Sync overview."""

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from django.db.models import Case, Count, Q, QuerySet, When
from django.db.models.functions import Coalesce, TruncDate

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


def unresolved_list(*, seat: Seat) -> QuerySet[OutboxEntry]:
    """The LinkedIn unresolved task report: items written as open activities regarding nobody.

    A seat holder sees their own; admins (Admin and Admin only) every one of the contract's.
    Newest first, with what the report shows selected.
    """
    entries = OutboxEntry.objects.filter(
        contract_id=seat.contract_id, state=OutboxState.SENT, written_open=True
    )
    if not seat.is_admin:
        entries = entries.filter(seat=seat)
    return entries.select_related(*_ITEM_RELATIONS).order_by("-sent_at", "-pk")


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
