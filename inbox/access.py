"""The current seat's own threads, messages and notes, or 404: for the pages and the API alike.

Each lookup selects what the page or payload shows, so using the result costs no more queries:
with a message or note, its ``delivery`` (the writeback's OutboxEntry, by the reverse name of its
one-to-one, as in ``inbox.selectors``).
"""

from django.shortcuts import get_object_or_404

from inbox.models import Message, Note, Thread
from seats.access import get_for_seat


def get_thread(request, pk: int) -> Thread:
    return get_for_seat(request, Thread.objects.select_related("seat", "member__company"), pk=pk)


def get_message(request, pk: int) -> Message:
    messages = Message.objects.filter(thread__seat=request.seat)
    return get_object_or_404(messages.select_related("thread", "delivery"), pk=pk)


def get_note(request, pk: int) -> Note:
    notes = Note.objects.select_related("member", "company", "delivery")
    return get_for_seat(request, notes, pk=pk)
