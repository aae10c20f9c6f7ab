"""Every write of the inbox: InMails, messages and notes, ticking or unticking their copy to the
CRM, and the mobile app's tokens.

Every item function saves the item and announces it (``inbox.signals.items_written``) in one
transaction; the writeback's receiver changes the item's outbox entry in that same transaction,
so an item is never copied without being saved, nor saved with a tick that was lost. Items of a
type the contract's admin does not copy (``CrmSettings.writeback_types()``, empty with writeback
off) are saved unticked and get no outbox entry at all.

Tokens (``seats.models.ApiToken``, one per device): only a SHA-256 digest is stored, so a token
is shown once, when it is created, and cannot be recovered from the database.

Rule violations raise ``ValidationError`` with a message fit for the page or the API.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

from crm_settings.models import WritebackType
from crm_settings.selectors import crm_settings_get
from inbox.models import CopyPreference, Message, Note, Thread
from inbox.selectors import copy_choices_get
from inbox.signals import items_written
from network.models import Company, Member
from seats.models import ApiToken, Seat, User

NO_SEAT_FEATURES = "Admin only seats can configure, not prospect: they cannot write {what}."
COPY_NOT_AVAILABLE = "Your admin has not turned on copying {types} to the CRM."
NOTE_NEEDS_ONE_TARGET = "A note is written on a lead or on an account: choose exactly one."
TOKEN_BYTES = 32
NAME_TAKEN = "You already have a token called “{name}”. Choose another name, or revoke that one."
# How stale ``last_used_at`` may get: refreshing it on every request would write on every read.
LAST_USED_PRECISION = timedelta(minutes=1)


def _copy_allowed(seat: Seat, item_type: str) -> bool:
    return item_type in crm_settings_get(contract=seat.contract).writeback_types()


def _check_writer(seat: Seat, what: str) -> None:
    if not seat.has_seat_features:
        raise ValidationError(NO_SEAT_FEATURES.format(what=what))


def _remember(seat: Seat, item_type: str, copy_to_crm: bool) -> None:
    """Keep the seat holder's choice as the checkbox's default for their next item of the type."""
    CopyPreference.objects.update_or_create(
        seat=seat, item_type=item_type, defaults={"copy_to_crm": copy_to_crm}
    )


def _composed_copy(seat: Seat, item_type: str, copy_to_crm: bool) -> bool:
    """The copy flag of a newly written item: only where the admin allows, remembered if shown."""
    if not _copy_allowed(seat, item_type):
        return False
    _remember(seat, item_type, copy_to_crm)
    return copy_to_crm


def _written(items: list[Message] | list[Note], *, contract_id: int) -> None:
    """Tell the writeback that ``items``' checkboxes were set, in the caller's transaction."""
    if items:
        items_written.send(sender=type(items[0]), items=items, contract_id=contract_id)


def _locked(thread: Thread) -> Thread:
    # Serialises with *Copy thread to CRM*: a message added while the thread is being ticked
    # sees the tick, or is among the messages the tick copies, never neither.
    return Thread.objects.select_for_update(of=("self",)).select_related("seat").get(pk=thread.pk)


def _add_message(
    thread: Thread, *, direction: str, body: str, copy_to_crm: bool, sent_at: datetime
) -> Message:
    message = Message(
        thread=thread, direction=direction, body=body, sent_at=sent_at, copy_to_crm=copy_to_crm
    )
    message.full_clean()
    message.save()
    # Greatest: a message that arrives late with an older timestamp does not move the thread back.
    Thread.objects.filter(pk=thread.pk).update(last_message_at=Greatest("last_message_at", sent_at))
    _written([message], contract_id=thread.seat.contract_id)
    return message


@transaction.atomic
def inmail_send(
    *, seat: Seat, member: Member, subject: str, body: str, copy_to_crm: bool
) -> Message:
    """Send an InMail: always a new thread, whose *Copy thread to CRM* starts as ``copy_to_crm``."""
    _check_writer(seat, "InMails")
    if not subject.strip():
        raise ValidationError({"subject": "An InMail needs a subject."})
    copy = _composed_copy(seat, WritebackType.INMAIL, copy_to_crm)
    now = timezone.now()
    thread = Thread(
        seat=seat,
        member=member,
        kind=Thread.Kind.INMAIL,
        subject=subject,
        copy_to_crm=copy,
        last_message_at=now,
    )
    thread.full_clean()
    thread.save()
    return _add_message(
        thread, direction=Message.Direction.SENT, body=body, copy_to_crm=copy, sent_at=now
    )


@transaction.atomic
def message_send(*, seat: Seat, member: Member, body: str, copy_to_crm: bool) -> Message:
    """Send a message to a member, in the seat's conversation with them (started if needed).

    A new conversation takes ``copy_to_crm`` as its *Copy thread to CRM*; in an existing one it
    applies to this message only, and the thread's own checkbox stays as the seat holder left it.
    """
    _check_writer(seat, "messages")
    copy = _composed_copy(seat, WritebackType.MESSAGE, copy_to_crm)
    now = timezone.now()
    thread, _ = Thread.objects.get_or_create(
        seat=seat,
        member=member,
        kind=Thread.Kind.MESSAGE,
        defaults={"copy_to_crm": copy, "last_message_at": now},
    )
    return _add_message(
        _locked(thread), direction=Message.Direction.SENT, body=body, copy_to_crm=copy, sent_at=now
    )


def message_compose(
    *, seat: Seat, kind: str, member: Member, body: str, copy_to_crm: bool, subject: str = ""
) -> Message:
    """A new InMail or message, as ``kind`` says: what the compose page and the API send."""
    if kind == Thread.Kind.INMAIL:
        return inmail_send(
            seat=seat, member=member, subject=subject, body=body, copy_to_crm=copy_to_crm
        )
    return message_send(seat=seat, member=member, body=body, copy_to_crm=copy_to_crm)


@transaction.atomic
def message_reply(*, thread: Thread, body: str, copy_to_crm: bool) -> Message:
    """The seat holder's reply in a thread, copied or not as its *Copy message to CRM* says."""
    thread = _locked(thread)
    _check_writer(thread.seat, "messages")
    copy = _composed_copy(thread.seat, thread.kind, copy_to_crm)
    return _add_message(
        thread,
        direction=Message.Direction.SENT,
        body=body,
        copy_to_crm=copy,
        sent_at=timezone.now(),
    )


@transaction.atomic
def message_receive(*, thread: Thread, body: str, sent_at: datetime | None = None) -> Message:
    """A member's message arriving in a thread: copied when the thread is (*Copy thread to CRM*)."""
    thread = _locked(thread)
    copy = thread.copy_to_crm and _copy_allowed(thread.seat, thread.kind)
    return _add_message(
        thread,
        direction=Message.Direction.RECEIVED,
        body=body,
        copy_to_crm=copy,
        sent_at=sent_at or timezone.now(),
    )


@transaction.atomic
def conversation_receive(
    *, seat: Seat, member: Member, body: str, sent_at: datetime | None = None
) -> Message:
    """A member's message to the seat, in their conversation (started if needed).

    A conversation the member starts gets the *Copy thread to CRM* a new message of the seat
    holder's would: their last choice for messages, else ticked where the admin copies them.
    """
    sent_at = sent_at or timezone.now()
    copy = copy_choices_get(seat=seat).default(WritebackType.MESSAGE)
    thread, _ = Thread.objects.get_or_create(
        seat=seat,
        member=member,
        kind=Thread.Kind.MESSAGE,
        defaults={"copy_to_crm": copy, "last_message_at": sent_at},
    )
    return message_receive(thread=thread, body=body, sent_at=sent_at)


@transaction.atomic
def thread_mark_read(*, thread: Thread) -> Thread:
    thread.read_at = timezone.now()
    thread.save(update_fields=["read_at"])
    return thread


@transaction.atomic
def message_backdate(*, message: Message, sent_at: datetime) -> Message:
    """Date a message in the past, and its thread by its latest message: for demo data only.

    The send services stamp "now"; a demo inbox reads better spread over the past week.
    """
    Message.objects.filter(pk=message.pk).update(sent_at=sent_at)
    latest = Message.objects.filter(thread=OuterRef("pk")).order_by("-sent_at", "-pk")
    Thread.objects.filter(pk=message.thread_id).update(
        last_message_at=Subquery(latest.values("sent_at")[:1])
    )
    message.sent_at = sent_at
    return message


@transaction.atomic
def note_create(
    *,
    seat: Seat,
    body: str,
    copy_to_crm: bool,
    member: Member | None = None,
    company: Company | None = None,
) -> Note:
    """Write a note on a lead (``member``) or an account (``company``)."""
    _check_writer(seat, "notes")
    if (member is None) == (company is None):
        raise ValidationError(NOTE_NEEDS_ONE_TARGET)
    copy = _composed_copy(seat, WritebackType.NOTE, copy_to_crm)
    note = Note(seat=seat, member=member, company=company, body=body, copy_to_crm=copy)
    note.full_clean()
    note.save()
    _written([note], contract_id=seat.contract_id)
    return note


def _check_tick(seat: Seat, item_type: str, copy_to_crm: bool) -> None:
    # Unticking is always allowed: it is how a seat holder takes an item back out of the CRM,
    # even after the admin stopped copying its type.
    if copy_to_crm and not _copy_allowed(seat, item_type):
        label = WritebackType(item_type).label
        raise ValidationError(COPY_NOT_AVAILABLE.format(types=label))


@transaction.atomic
def message_set_copy(*, message: Message, copy_to_crm: bool) -> Message:
    """*Copy message to CRM* ticked or unticked on one message."""
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("thread__seat")
        .get(pk=message.pk)
    )
    _check_tick(message.thread.seat, message.item_type, copy_to_crm)
    if message.copy_to_crm != copy_to_crm:
        message.copy_to_crm = copy_to_crm
        message.save(update_fields=["copy_to_crm"])
        _written([message], contract_id=message.thread.seat.contract_id)
    return message


@transaction.atomic
def thread_set_copy(*, thread: Thread, copy_to_crm: bool) -> Thread:
    """*Copy thread to CRM*: every message in the thread, and the new ones, follow it."""
    thread = _locked(thread)
    _check_tick(thread.seat, thread.kind, copy_to_crm)
    thread.copy_to_crm = copy_to_crm
    thread.save(update_fields=["copy_to_crm"])
    changed = list(
        thread.messages.select_for_update().exclude(copy_to_crm=copy_to_crm).order_by("pk")
    )
    for message in changed:
        message.copy_to_crm = copy_to_crm
        message.thread = thread
    Message.objects.bulk_update(changed, ["copy_to_crm"])
    _written(changed, contract_id=thread.seat.contract_id)
    return thread


@transaction.atomic
def note_set_copy(*, note: Note, copy_to_crm: bool) -> Note:
    """*Copy to CRM* ticked or unticked on a note."""
    note = Note.objects.select_for_update(of=("self",)).select_related("seat").get(pk=note.pk)
    _check_tick(note.seat, note.item_type, copy_to_crm)
    if note.copy_to_crm != copy_to_crm:
        note.copy_to_crm = copy_to_crm
        note.save(update_fields=["copy_to_crm"])
        _written([note], contract_id=note.seat.contract_id)
    return note


# --- The mobile app's tokens --------------------------------------------------------------------


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for one of ``user``'s devices; returns the row and the token, to show once."""
    name = name.strip()
    if ApiToken.objects.filter(user=user, name__iexact=name, revoked_at__isnull=True).exists():
        raise ValidationError({"name": NAME_TAKEN.format(name=name)})
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken.objects.create(user=user, name=name, digest=_digest(raw), prefix=raw[:8])
    return token, raw


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Stop a token from working, for good; revoking twice keeps the first date."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token ``raw`` stands for, with its user, or None; notes when it was last used."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token
