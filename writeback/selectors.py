"""Reads for the unresolved-task report."""

from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.db.models.functions import Concat, Lower

from common.lists import Sorts
from seats.models import Seat
from writeback.models import OutboxEntry, OutboxState

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
    return entries.select_related(
        "seat__user",
        "message__thread__member__company",
        "note__member__company",
        "note__company",
    ).order_by(*UNRESOLVED_SORTS.ordering(sort))
