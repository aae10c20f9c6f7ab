"""The CRM copy of one item on the seat holder's pages: *Retry* on a failed one.

The copy checkbox and its control are the inbox's (``inbox.views``); what Retry answers with is
that same control, refreshed. Another seat's outbox entry is a 404 (``get_for_seat``).
"""

from django.core.exceptions import ValidationError
from django.views.decorators.http import require_POST

from inbox.access import get_message, get_note
from inbox.views import copy_control_render
from seats.access import get_for_seat, seat_holder_required
from writeback.models import OutboxEntry
from writeback.outbox import outbox_retry


@seat_holder_required
@require_POST
def retry(request, pk: int):
    """*Retry* on a failed item."""
    entry = get_for_seat(request, OutboxEntry.objects.all(), pk=pk)
    error = ""
    try:
        outbox_retry(entry=entry)
    except ValidationError as exc:
        error = exc.messages[0]
    if entry.message_id:
        return copy_control_render(request, get_message(request, entry.message_id), error=error)
    return copy_control_render(request, get_note(request, entry.note_id), error=error)
