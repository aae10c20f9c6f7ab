"""What a CRM activity says: subject and description made from an item, within Dynamics' limits.

Dynamics refuses a whole request when a column is too long ("The length of the 'subject'
attribute ... exceeded the maximum allowed length of '200'"). An item is never refused for its
length: the text is cut to fit and ends with a visible marker, so a reader in the CRM knows there
was more. Everything here is a pure function of its arguments.
"""

from dataclasses import dataclass

from inbox.models import Message, Note, Thread
from writeback.models import FollowUp

SUBJECT_MAX = 200
DESCRIPTION_MAX = 2000
TRUNCATED = "…[truncated]"


def trim(text: str, limit: int, *, marker: str = TRUNCATED) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and ``marker``, ``limit`` long.

    >>> trim("Hello world", 10, marker="…")
    'Hello wor…'
    """
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return marker[:limit]
    return text[: limit - len(marker)] + marker


def first_line(text: str) -> str:
    """The first non-blank line, with runs of whitespace collapsed: a subject-sized summary."""
    for line in text.splitlines():
        if line.strip():
            return " ".join(line.split())
    return ""


@dataclass(frozen=True)
class ActivityContent:
    subject: str
    description: str


def _content(subject: str, description: str) -> ActivityContent:
    return ActivityContent(
        subject=trim(" ".join(subject.split()), SUBJECT_MAX),
        description=trim(description, DESCRIPTION_MAX),
    )


def message_content(message: Message) -> ActivityContent:
    """An InMail or message: who wrote to whom, its subject or first line, and the full text.

    Reads ``message.thread.member`` (select it with the message).
    """
    thread = message.thread
    member = thread.member.full_name
    label = "InMail" if thread.kind == Thread.Kind.INMAIL else "Message"
    party = f"to {member}" if message.direction == Message.Direction.SENT else f"from {member}"
    summary = thread.subject or first_line(message.body)
    return _content(f"LinkedIn {label} {party}: {summary}", message.body)


def note_content(note: Note) -> ActivityContent:
    """A note: what it is about and its first line, and the full text.

    Reads ``note.member`` or ``note.company`` (select them with the note).
    """
    return _content(f"LinkedIn note on {note.subject_name}: {first_line(note.body)}", note.body)


def follow_up_content(follow_up: FollowUp) -> ActivityContent:
    """A follow-up task: its subject and what the data validation found, as asked for."""
    return _content(follow_up.subject, follow_up.description)
