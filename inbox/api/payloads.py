"""What the API answers: threads, messages, notes, their deliveries and members, as plain dicts.

``choices`` (``CopyChoices``) says for each item whether its copy checkbox exists
(``copy_available``): the app shows the checkbox exactly where the pages do. Each item's
``delivery`` is its outbox entry's own ``api_payload()``, reached by the reverse relation
``item.delivery``: the writeback's rule about its row, with no import of the writeback here.
"""

from datetime import datetime

from inbox.models import Message, Note, Thread
from inbox.selectors import CopyChoices
from network.models import Member


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _delivery(item: Message | Note) -> dict | None:
    """The item's CRM copy, or None when it was never ticked (it has no outbox entry)."""
    entry = getattr(item, "delivery", None)
    return entry.api_payload() if entry is not None else None


def member_payload(member: Member) -> dict:
    payload = {
        "id": member.pk,
        "name": member.full_name,
        "headline": member.headline,
        "company": member.company.name if member.company_id else member.company_name,
        "company_id": member.company_id,
        "profile_url": member.profile_url,
    }
    if hasattr(member, "is_saved"):
        payload["saved_lead"] = member.is_saved
    return payload


def message_payload(message: Message, choices: CopyChoices) -> dict:
    return {
        "id": message.pk,
        "thread_id": message.thread_id,
        "direction": message.direction,
        "body": message.body,
        "sent_at": _time(message.sent_at),
        "copy_to_crm": message.copy_to_crm,
        "copy_available": choices.shows(message.thread.kind),
        "delivery": _delivery(message),
    }


def thread_payload(
    thread: Thread, choices: CopyChoices, messages: list[Message] | None = None
) -> dict:
    """A thread; with ``messages`` for one thread, with its last message for a list of them."""
    payload = {
        "id": thread.pk,
        "kind": thread.kind,
        "subject": thread.subject,
        "member": member_payload(thread.member),
        "copy_to_crm": thread.copy_to_crm,
        "copy_available": choices.shows(thread.kind),
        "last_message_at": _time(thread.last_message_at),
        "read_at": _time(thread.read_at),
    }
    if messages is not None:
        payload["messages"] = [message_payload(message, choices) for message in messages]
    else:
        payload["last_message"] = {
            "snippet": thread.last_snippet,
            "direction": thread.last_direction,
        }
        payload["unread"] = thread.unread
    return payload


def note_payload(note: Note, choices: CopyChoices) -> dict:
    return {
        "id": note.pk,
        "member_id": note.member_id,
        "company_id": note.company_id,
        "about": note.subject_name,
        "body": note.body,
        "created_at": _time(note.created_at),
        "copy_to_crm": note.copy_to_crm,
        "copy_available": choices.shows(note.item_type),
        "delivery": _delivery(note),
    }
