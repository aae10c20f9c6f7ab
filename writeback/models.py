"""The outbox that copies seat holders' items to the CRM, and the records chosen for them.

An item (``inbox.models``: a message or a note) that should exist in the CRM has one
``OutboxEntry``: the delivery's progress, written in the same transaction as the item or the
tick. Where each item lands in Dynamics:

- InMails (every message of an InMail thread) in ``li_inmails``, messages in ``li_messages``: the
  activity tables of the LinkedIn Sales Navigator solution.
- Notes in ``tasks``. The solution has no note table, and Dynamics' own notes (``annotation``) are
  not activities: they have no open or closed state, so an unmatched note could neither stay
  open in the unresolved-task report nor show in the contact's Activity History. A task does both
  and exists in every org.

Received messages are copied too, when their thread or they themselves are ticked: the CRM gets
the conversation, as in the real product, not only the seat holder's half of it.

A ``RecordMatch`` remembers the CRM record a seat holder chose for a member or a company in the
unresolved-task report, so that their later items are matched to it.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from crm_settings.models import WritebackType
from inbox.models import Message, Note
from network.models import Company, Member
from seats.models import Contract, Seat

# The namespace of every activity id the portal derives. Never change it: every item would get a
# new id, and the next delivery would create each activity a second time.
ACTIVITY_ID_NAMESPACE = uuid.UUID("e0132fb1-fd03-414d-aeed-d72024d69140")


# The item type of a follow-up task (``FollowUp``): not one the admin chooses to copy; it is
# written because someone asked for it on Data validation.
FOLLOW_UP = "followup"
ITEM_TYPES = [*WritebackType.choices, (FOLLOW_UP, "Follow-up task")]


def activity_id_derive(*, contract_id: int, item_type: str, item_id: int) -> uuid.UUID:
    """The CRM activity id of an item: the same on every attempt, by every worker, forever."""
    return uuid.uuid5(ACTIVITY_ID_NAMESPACE, f"{contract_id}:{item_type}:{item_id}")


class OutboxState(models.TextChoices):
    """Where an item's CRM copy stands. ``writeback/outbox.py`` holds every transition."""

    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"
    WITHDRAWN = "withdrawn", "Withdrawn"
    REMOVAL_REQUESTED = "removal_requested", "Removal requested"
    REMOVING = "removing", "Removing"
    REMOVED = "removed", "Removed"


_IN_FLIGHT = {
    OutboxState.QUEUED,
    OutboxState.SENDING,
    OutboxState.RETRYING,
    OutboxState.REMOVAL_REQUESTED,
    OutboxState.REMOVING,
}
# States whose next_attempt_at is a time to wait for (in the others it is a lease, or nothing).
_WAITING = {OutboxState.QUEUED, OutboxState.RETRYING, OutboxState.REMOVAL_REQUESTED}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class ErrorKind(models.TextChoices):
    """Why a delivery failed: the ``kind`` of the ``dynamics`` client's errors."""

    CONNECT = "connect", "Could not connect to CRM."
    API = "api", "The CRM API reported an error."
    PRIVILEGE = "privilege", "Your CRM account does not have sufficient access privileges."
    MISSING = "missing", "Could not find where this goes in your CRM."
    AUTH = "auth", "The CRM sign-in has expired or was revoked."
    # Not a ``dynamics`` error: delivery needs the seat holder's CRM user as owner.
    UNMAPPED = "unmapped", "Your seat is not matched to a CRM user."


# What a seat holder can do about each failure (the seed's "next steps", for their role).
_NEXT_STEPS = {
    ErrorKind.CONNECT: "Select Retry later. If it keeps failing, tell your Sales Navigator admin.",
    ErrorKind.API: "Select Retry. If it fails again, ask your admin to check the CRM's uptime "
    "with your CRM representative.",
    ErrorKind.PRIVILEGE: "Ask your CRM administrator for the access privileges, then select Retry.",
    ErrorKind.MISSING: "Ask your admin to check that the LinkedIn Sales Navigator for Dynamics app "
    "is installed in your CRM, then select Retry.",
    ErrorKind.AUTH: "Ask your admin to connect to CRM again, then select Retry.",
    ErrorKind.UNMAPPED: "Ask your admin to check your seat on Admin / Seat Management (Not "
    "Matched shows why; usually your email differs from your CRM user's), then select Retry.",
}


class FollowUp(models.Model):
    """A follow-up task in the CRM about a flagged contact, for the seat holder whose Lead it
    is (*Create a follow-up task in CRM* on Data validation).

    Delivered through the outbox like a note: one ``OutboxEntry``, an activity id derived from
    this row, a create-only write, so the CRM gets it once. Asking again for the same contact,
    seat and flagged data finds this row (``writeback.followups``) instead of making another.
    The task is written open (a to-do for its owner), regarding the contact.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="+")
    contact_crm_id = models.UUIDField()
    contact_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=200)
    description = models.TextField()
    # The flags' inputs when it was asked for (``ContactFlag.inputs``, joined).
    inputs = models.TextField()
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # What the outbox asks an item (``outbox_retry``): a follow-up always wants to be in the CRM.
    copy_to_crm = True
    item_type = FOLLOW_UP

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "seat", "contact_crm_id", "inputs"], name="follow_up_once"
            ),
        ]

    def __str__(self):
        return self.subject

    @property
    def body(self) -> str:
        return self.description


class OutboxEntry(models.Model):
    """One item that should exist in the CRM (or did, and must go): its delivery's progress.

    The item's checkbox says what the seat holder wants; the entry says how far the CRM is from
    it. Workers take due entries with a conditional UPDATE, so each is delivered by one worker at
    a time; ``activity_id`` makes a second delivery of the same item harmless anyway.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="+")
    item_type = models.CharField(max_length=10, choices=ITEM_TYPES)
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="delivery"
    )
    note = models.OneToOneField(
        Note, null=True, blank=True, on_delete=models.CASCADE, related_name="delivery"
    )
    follow_up = models.OneToOneField(
        FollowUp, null=True, blank=True, on_delete=models.CASCADE, related_name="delivery"
    )
    activity_id = models.UUIDField(unique=True, editable=False)
    state = models.CharField(max_length=20, choices=OutboxState.choices, default=OutboxState.QUEUED)
    # Whether an attempt to create the activity may have succeeded (a timeout can hide a success)
    # and no removal has confirmed it gone since: unticking then has to remove, not just withdraw.
    maybe_in_crm = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(
        default=0, help_text="Attempts at the current operation (sending, or removing)."
    )
    # When the entry is next due. While a worker holds it (sending, removing) this is the end of
    # its lease: past it, the worker is presumed dead and another may take the entry over.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    last_error_kind = models.CharField(max_length=20, choices=ErrorKind.choices, blank=True)
    last_error_detail = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Filled in once sent.
    crm_entity_set = models.CharField(max_length=64, blank=True)
    crm_url = models.URLField("CRM activity link", max_length=500, blank=True)
    written_open = models.BooleanField(
        null=True,
        blank=True,
        help_text="Open: no CRM record matched (unresolved-task report). Closed: on the match "
        "(and follow-up tasks, open on purpose, on their contact).",
    )
    regarding_type = models.CharField(
        max_length=20, blank=True, help_text="contact, lead or account"
    )
    regarding_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "outbox entry"
        verbose_name_plural = "outbox entries"
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The drain task's claim: a contract's due entries, oldest first.
            models.Index(fields=["contract", "state", "next_attempt_at"], name="outbox_due"),
            # The sweep that finds which contracts have due entries at all.
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due_any_contract"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(message__isnull=False, note__isnull=True, follow_up__isnull=True)
                    & models.Q(item_type__in=[WritebackType.INMAIL, WritebackType.MESSAGE])
                )
                | (
                    models.Q(message__isnull=True, note__isnull=False, follow_up__isnull=True)
                    & models.Q(item_type=WritebackType.NOTE)
                )
                | (
                    models.Q(message__isnull=True, note__isnull=True, follow_up__isnull=False)
                    & models.Q(item_type=FOLLOW_UP)
                ),
                name="outbox_entry_has_one_item_of_its_type",
            ),
        ]

    def __str__(self):
        return f"{self.get_item_type_display()} {self.activity_id} ({self.get_state_display()})"

    @property
    def item(self) -> "Message | Note | FollowUp":
        if self.follow_up_id:
            return self.follow_up
        return self.message if self.message_id else self.note

    @property
    def about(self) -> Member | Company | str:
        """Who or what the item is about: the member written to, the note's lead or account, or
        the name of a follow-up task's contact."""
        if self.follow_up_id:
            return self.follow_up.contact_name
        if self.message_id:
            return self.message.thread.member
        return self.note.member if self.note.member_id else self.note.company

    @property
    def task_label(self) -> str:
        """What the unresolved-task report calls it ("Unassigned InMail or Message Task")."""
        if self.follow_up_id:
            return "Follow-up Task"
        kind = {"inmail": "InMail", "message": "Message"}.get(self.item_type, "Note")
        return f"Unassigned {kind} Task"

    @property
    def next_attempt(self) -> datetime | None:
        """When the item is next tried: only while it waits for that (queued, retrying, removal
        requested). A sent, failed or withdrawn item has none; a claimed one holds a lease."""
        return self.next_attempt_at if self.state in _WAITING else None

    @property
    def in_flight(self) -> bool:
        """Whether the worker still has to act on it (pages keep refreshing its state)."""
        return self.state in _IN_FLIGHT

    @property
    def failure_reason(self) -> str:
        return ErrorKind(self.last_error_kind).label if self.last_error_kind else ""

    @property
    def next_step(self) -> str:
        return _NEXT_STEPS.get(self.last_error_kind, "")

    def api_payload(self) -> dict:
        """This delivery as the mobile API answers it (the ``delivery`` of a message or note).

        The inbox's payloads reach it as ``item.delivery``, by relation, so the inbox imports
        nothing of the writeback; ``inbox.api.schema`` describes it as ``Delivery``.
        """
        error = None
        if self.last_error_kind:
            error = {
                "kind": self.last_error_kind,
                "reason": self.failure_reason,
                "next_step": self.next_step,
                "detail": self.last_error_detail,
            }
        return {
            "state": self.state,
            "label": self.get_state_display(),
            "activity_id": str(self.activity_id),
            "attempts": self.attempts,
            "next_attempt_at": _time(self.next_attempt),
            "error": error,
            "crm_url": self.crm_url or None,
            "written_open": self.written_open,
            "sent_at": _time(self.sent_at),
        }


class OutboxDrain(models.Model):
    """Whether a drain task of the contract is waiting for a worker.

    Saving items asks for a drain, and a task is enqueued only when ``requested_at`` goes from
    empty to set; the drain empties it when it starts, before its first claim. So however many
    items are saved while a drain waits for a worker, the queue holds one task for the contract,
    and an item saved after the drain started asks for (at most) one follow-up.
    """

    contract = models.OneToOneField(
        Contract, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # When the waiting drain was enqueued; empty while none is waiting.
    requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Drain of {self.contract_id} ({'requested' if self.requested_at else 'idle'})"


class RecordType(models.TextChoices):
    """The CRM records an activity can regard."""

    CONTACT = "contact", "Contact"
    LEAD = "lead", "Lead"
    ACCOUNT = "account", "Account"


class RecordMatch(models.Model):
    """The CRM record a seat holder chose for a member or a company in the unresolved-task report.

    Delivery asks these before the import's matches: once an item about someone was resolved,
    their next items regard the same record and are written closed. A later choice replaces the
    earlier one.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    record_type = models.CharField(max_length=10, choices=RecordType.choices)
    record_id = models.UUIDField()
    record_name = models.CharField(max_length=200, blank=True)
    chosen_by = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "record matches"
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(member__isnull=False, company__isnull=True)
                    | models.Q(member__isnull=True, company__isnull=False)
                ),
                name="record_match_of_a_member_or_a_company",
            ),
            models.UniqueConstraint(
                fields=["contract", "member"],
                condition=models.Q(member__isnull=False),
                name="record_match_once_per_member",
            ),
            models.UniqueConstraint(
                fields=["contract", "company"],
                condition=models.Q(company__isnull=False),
                name="record_match_once_per_company",
            ),
        ]

    def __str__(self):
        return f"{self.member or self.company} → {self.record_type} {self.record_name}"
