"""Reads for the unresolved-task report."""

from django.db.models import QuerySet

from seats.models import Seat
from writeback.models import OutboxEntry, OutboxState


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
    return entries.select_related(
        "seat__user",
        "message__thread__member__company",
        "note__member__company",
        "note__company",
    ).order_by("-sent_at", "-pk")
