"""What admins are told when sync or writeback breaks: incidents, and each admin's choices.

An ``Incident`` is one stretch of time during which one thing was wrong on one contract (one
``Kind``): opened when the check first sees it, cleared when the check no longer does. It is
mailed once when it opens and once when it clears ("back to normal"), however many runs or items
fail meanwhile; the database allows one open incident per contract and kind.

``AlertPreferences`` are one admin's choices: which kinds to hear about, and whether as each
incident happens or in one daily digest. An admin without a row hears about every kind at once.
"""

from django.db import models
from django.db.models import Q

from seats.models import Contract, Seat


class Kind(models.TextChoices):
    """What can go wrong, worded as the alert-email settings offer it ("Email me when ...")."""

    SYNC_FAILED = "sync_failed", "a sync fails"
    SYNC_PAUSED = "sync_paused", "the sync pauses itself after failing too often in a row"
    SIGN_IN = "sign_in", "the CRM sign-in is revoked or expires"
    WRITEBACK_PAUSED = "writeback_paused", "writeback pauses itself after failing too often"
    ITEMS_FAILED = "items_failed", "items fail to reach the CRM (Failed)"
    SOLUTION_MISSING = "solution_missing", "the LinkedIn Sales Navigator app leaves the CRM"


class Incident(models.Model):
    class Resolution(models.TextChoices):
        FIXED = "fixed", "Back to normal"
        # Nothing to tell: the admin disconnected the contract, which ends every incident.
        DISCONNECTED = "disconnected", "The contract was disconnected from the CRM"

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="incidents")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # What the mail says: a title, then the guide's message, its next step and the detail (kept
    # up to date while the incident is open), and the path of the page that fixes it.
    title = models.CharField(max_length=300)
    message = models.TextField()
    next_step = models.TextField(blank=True)
    detail = models.TextField(blank=True)
    fix_path = models.CharField(max_length=300)
    fix_label = models.CharField(max_length=100)
    opened_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    # Claimed by the mail task before it sends (a second task finds them set and sends nothing).
    opened_mailed_at = models.DateTimeField(null=True, blank=True)
    cleared_mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "kind"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_incident_per_contract_and_kind",
            ),
        ]
        indexes = [models.Index(fields=["contract", "-opened_at"])]

    def __str__(self):
        state = "open" if self.cleared_at is None else self.get_resolution_display().lower()
        return f"{self.contract}: {self.title} ({state})"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    @property
    def cleared_title(self) -> str:
        return CLEARED_TITLES[self.kind]


# The "back to normal" mail's title, per kind.
CLEARED_TITLES = {
    Kind.SYNC_FAILED: "The sync with your CRM works again",
    Kind.SYNC_PAUSED: "The sync runs again",
    Kind.SIGN_IN: "Your CRM sign-in works again",
    Kind.WRITEBACK_PAUSED: "Writeback runs again",
    Kind.ITEMS_FAILED: "No items are failing to reach your CRM any more",
    Kind.SOLUTION_MISSING: "The LinkedIn Sales Navigator app is back in your CRM",
}


class AlertPreferences(models.Model):
    """One admin's alert emails: the kinds muted, and each incident at once or a daily digest."""

    seat = models.OneToOneField(Seat, on_delete=models.CASCADE, related_name="alert_preferences")
    muted_kinds = models.JSONField(default=list, blank=True, help_text="Kinds not emailed.")
    daily_digest = models.BooleanField(
        "One daily digest instead of an email per alert", default=False
    )
    # When the last digest went out (its window starts there): claimed before sending.
    digest_sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "alert preferences"
        verbose_name_plural = "alert preferences"

    def __str__(self):
        return f"Alert emails of {self.seat.user.email}"

    def wants(self, kind: str) -> bool:
        return kind not in self.muted_kinds
