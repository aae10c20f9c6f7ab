"""The unresolved-task report's items the current seat may see, or 404."""

from django.shortcuts import get_object_or_404

from writeback.models import OutboxEntry
from writeback.selectors import unresolved_list


def get_unresolved(request, pk: int) -> OutboxEntry:
    """An item of the unresolved-task report the current seat sees (admins: the contract's)."""
    return get_object_or_404(unresolved_list(seat=request.seat), pk=pk)
