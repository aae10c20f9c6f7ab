"""*Retry* in the mobile API (``/api/v1/messages/<pk>/retry``, ``/api/v1/notes/<pk>/retry``).

The writeback's endpoints in the inbox's API: the same token sign-in and JSON errors
(``inbox.api.http.endpoint``), the same answer as reading the item (``inbox.api.payloads``), and
one service call here, ``outbox_retry``. The outbox's refusal (the item is not failed) is a 400
through ``endpoint``; another seat's item is a 404.
"""

from django.http import JsonResponse

from inbox.access import get_message, get_note
from inbox.api.http import ApiError, endpoint
from inbox.api.payloads import message_payload, note_payload
from inbox.models import Message, Note
from inbox.selectors import copy_choices_get
from writeback.outbox import outbox_retry

NOTHING_TO_RETRY = "This item was never copied to the CRM: nothing to retry."


def _retry(item: Message | Note) -> None:
    """*Retry* the item's failed copy; a 400 when it has none (it was never ticked)."""
    entry = getattr(item, "delivery", None)
    if entry is None:
        raise ApiError(400, "invalid", NOTHING_TO_RETRY)
    outbox_retry(entry=entry)


@endpoint("POST")
def message_retry(request, pk: int):
    """*Retry* a message whose copy failed."""
    _retry(get_message(request, pk))
    message = get_message(request, pk)
    return JsonResponse(message_payload(message, copy_choices_get(seat=request.seat)))


@endpoint("POST")
def note_retry(request, pk: int):
    """*Retry* a note whose copy failed."""
    _retry(get_note(request, pk))
    return JsonResponse(note_payload(get_note(request, pk), copy_choices_get(seat=request.seat)))
