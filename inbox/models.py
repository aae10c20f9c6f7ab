"""What seat holders write in the portal: threads, their messages, notes, and the copy checkboxes.

*Threads* are conversations of one seat with one network member: an InMail thread (each InMail
starts its own, with a subject) or the seat's single message conversation with that member. They
hold *messages*, sent and received. *Notes* are written on a lead (a member) or an account (a
company). Each item carries its copy checkbox from the seed guide: *Copy message to CRM* on a
message, *Copy thread to CRM* on a thread, *Copy to CRM* on a note. What the checkboxes set in
motion (the outbox, delivery) is ``writeback``'s.

The tables keep the names they had when these models lived in ``writeback`` (``db_table``): the
models moved between apps without touching the database (``inbox/migrations/0001_initial.py``).
"""

from django.db import models
from django.utils import timezone

from crm_settings.models import WritebackType
from network.models import Company, Member
from seats.models import Seat

MESSAGE_BODY_MAX = 8000
NOTE_BODY_MAX = 5000
INMAIL_SUBJECT_MAX = 200


class Thread(models.Model):
    # The values are the writeback types of the messages in the thread.
    class Kind(models.TextChoices):
        INMAIL = WritebackType.INMAIL.value, "InMail"
        MESSAGE = WritebackType.MESSAGE.value, "Message"

    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="threads")
    # PROTECT: deleting a network member must not silently take seat holders' conversations.
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    subject = models.CharField(max_length=INMAIL_SUBJECT_MAX, blank=True, help_text="InMails only.")
    copy_to_crm = models.BooleanField(
        "Copy thread to CRM",
        default=False,
        help_text="Copies every message in the thread, and new ones as they come.",
    )
    last_message_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(
        null=True, blank=True, help_text="When the seat holder last opened the thread."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "writeback_thread"
        ordering = ["-last_message_at", "-pk"]
        indexes = [models.Index(fields=["seat", "-last_message_at"], name="thread_inbox_order")]
        constraints = [
            # A seat has one message conversation per member; every InMail is its own thread.
            models.UniqueConstraint(
                fields=["seat", "member"],
                condition=models.Q(kind="message"),
                name="thread_one_conversation_per_member",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} with {self.member}"

    @property
    def title(self) -> str:
        return self.subject or f"Conversation with {self.member.full_name}"


class Message(models.Model):
    class Direction(models.TextChoices):
        SENT = "sent", "Sent"
        RECEIVED = "received", "Received"

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    body = models.TextField(max_length=MESSAGE_BODY_MAX)
    sent_at = models.DateTimeField(default=timezone.now)
    copy_to_crm = models.BooleanField("Copy message to CRM", default=False)

    class Meta:
        db_table = "writeback_message"
        ordering = ["sent_at", "pk"]
        indexes = [models.Index(fields=["thread", "sent_at"], name="message_thread_order")]

    def __str__(self):
        return f"{self.get_direction_display()} {self.sent_at:%Y-%m-%d %H:%M}"

    @property
    def item_type(self) -> str:
        return self.thread.kind


class Note(models.Model):
    """A seat holder's note on a lead (a member) or an account (a company): exactly one."""

    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="notes")
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField(max_length=NOTE_BODY_MAX)
    copy_to_crm = models.BooleanField("Copy to CRM", default=False)
    created_at = models.DateTimeField(default=timezone.now)

    item_type = WritebackType.NOTE.value

    class Meta:
        db_table = "writeback_note"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["seat", "member"], name="note_on_lead"),
            models.Index(fields=["seat", "company"], name="note_on_account"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(member__isnull=False, company__isnull=True)
                    | models.Q(member__isnull=True, company__isnull=False)
                ),
                name="note_on_a_lead_or_an_account",
            ),
        ]

    def __str__(self):
        return f"Note on {self.subject_name}"

    @property
    def subject_name(self) -> str:
        """Who or what the note is about."""
        return self.member.full_name if self.member_id else self.company.name


class CopyPreference(models.Model):
    """A seat holder's last choice of the copy checkbox for one item type, when writing one.

    It becomes the checkbox's default for the next InMail, message or note of that type.
    """

    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="+")
    item_type = models.CharField(max_length=10, choices=WritebackType.choices)
    copy_to_crm = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "writeback_copypreference"
        constraints = [
            models.UniqueConstraint(fields=["seat", "item_type"], name="copy_preference_per_type")
        ]

    def __str__(self):
        return f"{self.get_item_type_display()}: {'copy' if self.copy_to_crm else 'do not copy'}"
