"""Demo conversations and notes for a seat holder, created idempotently.

``portal/demo.py`` calls ``inbox_demo_seed`` for the demo's seat holders with network members
that partly match the emulator's CRM contacts. Running it again creates nothing twice: each
thread and note is looked up by what makes it recognisable before it is written.
"""

from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from inbox.models import Note, Thread
from inbox.services import (
    conversation_receive,
    message_backdate,
    message_compose,
    message_receive,
    message_reply,
    note_create,
)
from network.models import Member
from seats.models import Seat

# Per member, in order: (kind, subject, [(days ago, direction, text), ...]); "{first}" is the
# member's first name and "{company}" their company.
_CONVERSATIONS = [
    (
        Thread.Kind.INMAIL,
        "Quick question about {company}",
        [
            (6, "sent", "Hi {first}, I saw {company} is growing its sales team. Could we talk "
             "about how you plan pipeline reviews this quarter?"),
            (5, "received", "Thanks for reaching out. Send me a few times next week."),
            (5, "sent", "Tuesday 10:00 or Thursday 15:00 work for me. Which suits you?"),
        ],
    ),
    (
        Thread.Kind.MESSAGE,
        "",
        [
            (4, "sent", "Good to meet you at the conference, {first}!"),
            (4, "received", "Likewise. Let's stay in touch."),
            (3, "sent", "I'll share the case study we discussed."),
        ],
    ),
    (
        Thread.Kind.INMAIL,
        "Introduction",
        [(2, "sent", "Hello {first}, a colleague suggested I contact you about {company}.")],
    ),
    (
        Thread.Kind.MESSAGE,
        "",
        [(1, "received", "Hi! Are you the right person to ask about your integration options?")],
    ),
]  # fmt: skip
_LEAD_NOTE = "Decision maker for {company}. Prefers short calls; follow up after the budget review."
_ACCOUNT_NOTE = "Renewal expected next quarter; three teams evaluating."


def _fill(text: str, member: Member) -> str:
    company = member.company.name if member.company_id else member.company_name or "your company"
    return text.format(first=member.first_name, company=company)


def _conversation(seat: Seat, member: Member, kind: str, subject: str, script) -> Thread | None:
    subject = _fill(subject, member)
    existing = Thread.objects.filter(seat=seat, member=member, kind=kind)
    if kind == Thread.Kind.INMAIL:
        existing = existing.filter(subject=subject)
    if existing.exists():
        return None
    now = timezone.now()
    thread = None
    for position, (days_ago, direction, text) in enumerate(script):
        # Ten minutes apart, so two messages on the same day keep their order.
        body = _fill(text, member)
        when = now - timedelta(days=days_ago) + timedelta(minutes=10 * position)
        if direction == "received":
            message = (
                message_receive(thread=thread, body=body, sent_at=when)
                if thread
                else conversation_receive(seat=seat, member=member, body=body, sent_at=when)
            )
        elif thread:
            message = message_reply(thread=thread, body=body, copy_to_crm=True)
        else:
            message = message_compose(
                seat=seat, kind=kind, member=member, subject=subject, body=body, copy_to_crm=True
            )
        thread = message.thread
        message_backdate(message=message, sent_at=when)
    return thread


def _note(seat: Seat, *, body: str, copy: bool, **on) -> Note | None:
    """A note on ``member=`` or ``company=``, unless the seat already wrote it."""
    if Note.objects.filter(seat=seat, body=body, **on).exists():
        return None
    return note_create(seat=seat, body=body, copy_to_crm=copy, **on)


@transaction.atomic
def inbox_demo_seed(*, seat: Seat, members: Sequence[Member]) -> list[str]:
    """Give ``seat`` a few InMail and message threads and notes with ``members``.

    Items are ticked for the CRM; the services leave them unticked where the contract does not
    copy their type. Returns a line per thing created.
    """
    created = []
    for member, (kind, subject, script) in zip(members, _CONVERSATIONS, strict=False):
        thread = _conversation(seat, member, kind, subject, script)
        if thread is not None:
            created.append(f"{thread} for {seat.user.email}")
    if members:
        lead = members[0]
        notes = []
        if lead.company_id:
            # Written first, so the lead's note (ticked) is the seat's last choice for notes.
            notes.append(_note(seat, company=lead.company, body=_ACCOUNT_NOTE, copy=False))
        notes.append(_note(seat, member=lead, body=_fill(_LEAD_NOTE, lead), copy=True))
        created += [f"{note} for {seat.user.email}" for note in notes if note]
    return created
