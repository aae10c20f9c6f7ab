"""A contract's link to Dynamics 365 and the choices its admins make on CRM Settings.

``CrmSettings`` holds the admin's answers (seed guide, "Configure Your Sales Navigator CRM
Settings" and "Enabling Activity Writeback"); they survive a disconnect. ``CrmConnection`` exists
while the contract is connected: the environment, who signed in, what the pre-flight check found,
the org's choices CRM Settings offers (stages, money fields, the LinkedIn solution) and the
encrypted token cache. Disconnecting deletes it, and with it the tokens.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from crm_settings.crypto import decrypt, encrypt
from seats.models import Contract

# The standard "Actual Revenue" column, used for won value when the admin answers *Not Sure*.
DEFAULT_WON_VALUE_COLUMN = "actualvalue"
# Dataverse evaluates its service protection limits over a sliding 5-minute window.
BUDGET_WINDOW = timedelta(minutes=5)
# How often the import may run on its own: every 5 minutes at most, once a day at least. The
# field's validators hold the rule, so CRM Settings, the Django admin and the services share it.
SYNC_INTERVAL_MINUTES = (5, 1440)
PROFILE_COLUMN_PATTERN = r"^[a-z][a-z0-9_]*$"
PROFILE_COLUMN_MESSAGE = (
    "Enter the column's logical name: lower-case letters, digits and underscores, e.g. "
    "new_linkedinprofile."
)


class WritebackType(models.TextChoices):
    INMAIL = "inmail", "InMails"
    MESSAGE = "message", "Messages"
    NOTE = "note", "Notes"


class CrmSettings(models.Model):
    contract = models.OneToOneField(Contract, on_delete=models.CASCADE, related_name="crm_settings")
    auto_sync = models.BooleanField(
        "Auto sync all seat holders with CRM?",
        default=True,
        help_text="With No, turn sync on per seat on Admin / Seat Management.",
    )
    # None means *Not Sure*: every open opportunity counts.
    pipeline_stage = models.IntegerField(
        "At which stage does your sales team consider an opportunity to enter your pipeline?",
        null=True,
        blank=True,
    )
    pipeline_stage_label = models.CharField(max_length=200, blank=True)
    # The stage options in the CRM's order when the admin chose, so "at or beyond" is well defined
    # even if the option values are not in pipeline order: [{"value": 0, "label": "Qualify"}, ...].
    pipeline_stage_options = models.JSONField(default=list, blank=True)
    # "" means *Not Sure*: the standard Actual Revenue column.
    won_value_column = models.CharField(
        "Where do you store the value for a won opportunity?", max_length=100, blank=True
    )
    won_value_label = models.CharField(max_length=200, blank=True)
    # Dynamics has no standard LinkedIn profile column on contact; orgs that keep one add a custom
    # column (publisher-prefixed, e.g. ``new_linkedinprofile``). "" means the org has none.
    contact_profile_url_column = models.CharField(
        "Contact column holding the LinkedIn profile URL (optional)",
        max_length=100,
        blank=True,
        help_text="The column's logical name, e.g. new_linkedinprofile. Contacts are matched to "
        "network members by email, then by this URL, then by name and company.",
        validators=[RegexValidator(PROFILE_COLUMN_PATTERN, PROFILE_COLUMN_MESSAGE)],
    )
    sync_interval_minutes = models.PositiveIntegerField(
        "Sync every (minutes)",
        default=15,
        help_text="How often the import runs on its own, between 5 minutes and a day.",
        validators=[
            MinValueValidator(SYNC_INTERVAL_MINUTES[0]),
            MaxValueValidator(SYNC_INTERVAL_MINUTES[1]),
        ],
    )
    writeback_enabled = models.BooleanField(
        "Enable Sales Navigator to sync back data to your CRM?", default=False
    )
    writeback_all = models.BooleanField("Sync back all data items (recommended)", default=True)
    writeback_inmails = models.BooleanField("InMails", default=True)
    writeback_messages = models.BooleanField("Messages", default=True)
    writeback_notes = models.BooleanField("Notes", default=True)
    # Auto-pause (``crm_settings.pausing``): this many failed imports, or failed writeback drains,
    # in a row stop that part until an admin selects *Resume sync* / *Resume writeback*.
    pause_after_failures = models.PositiveSmallIntegerField(
        "Pause after this many failures in a row",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="After this many failed syncs in a row the scheduled sync stops, and after this "
        "many failed writeback attempts in a row writeback stops (items wait, nothing is lost), "
        "until you resume them here.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "CRM settings"
        verbose_name_plural = "CRM settings"

    def __str__(self):
        return f"CRM settings of {self.contract}"

    @property
    def won_value_column_or_default(self) -> str:
        return self.won_value_column or DEFAULT_WON_VALUE_COLUMN

    def writeback_types(self) -> set[str]:
        """The item types that are copied to the CRM now (empty when writeback is off)."""
        if not self.writeback_enabled:
            return set()
        if self.writeback_all:
            return set(WritebackType.values)
        chosen = {
            WritebackType.INMAIL: self.writeback_inmails,
            WritebackType.MESSAGE: self.writeback_messages,
            WritebackType.NOTE: self.writeback_notes,
        }
        return {kind.value for kind, on in chosen.items() if on}

    def stage_rank(self, value: int | None) -> int | None:
        """Position of a stage value in the pipeline order saved with the choice, else None."""
        for rank, option in enumerate(self.pipeline_stage_options):
            if option.get("value") == value:
                return rank
        return None


class CrmConnection(models.Model):
    """The live connection of one contract to one Dynamics 365 environment."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected to Microsoft Dynamics"
        # Connected, but the last use failed (e.g. the refresh token was revoked).
        ERROR = "error", "Connection error"

    contract = models.OneToOneField(
        Contract, on_delete=models.CASCADE, related_name="crm_connection"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED)
    environment_url = models.URLField(
        max_length=300, help_text="The Dynamics environment, e.g. https://contoso.crm.dynamics.com"
    )
    tenant = models.CharField(max_length=100, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(auto_now_add=True)
    # The Dynamics user who signed in; Dynamics lists them as creator of written-back activities.
    crm_user_id = models.UUIDField(null=True, blank=True)
    crm_user_name = models.CharField(max_length=200, blank=True)
    crm_user_email = models.CharField(max_length=254, blank=True)
    organization_id = models.UUIDField(null=True, blank=True)
    # What the pre-flight check found: {"tables": {"account": {"readable": true,
    # "change_tracking": true}, ...}, "checked_at": "..."}.
    preflight = models.JSONField(default=dict, blank=True)
    linkedin_solution_installed = models.BooleanField(default=False)
    # What CRM Settings offers, read from the org at connect, on *Refresh from CRM*, daily and by
    # the next import when missing (``crm_choices_refresh``), so the page never asks Dynamics: the
    # opportunity's sales stages in the CRM's order, [{"value": 0, "label": "Qualify"}, ...],
    # and its money columns, [{"logical_name": "actualvalue", "label": "Actual Revenue"}, ...],
    # with the LinkedIn solution's presence above. ``choices_read_at`` is None until first read
    # (a connection saved before they were stored).
    stage_options = models.JSONField(default=list, blank=True)
    money_columns = models.JSONField(default=list, blank=True)
    choices_read_at = models.DateTimeField(null=True, blank=True)
    # Whether the connecting user may act on behalf of seat holders (CallerObjectId), so that
    # they, not the connecting user, show as creator of their activities.
    can_impersonate = models.BooleanField(default=False)
    last_error_kind = models.CharField(max_length=20, blank=True)
    last_error_detail = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # msal's serialized token cache, Fernet-encrypted with PORTAL_ENCRYPTION_KEY. Never shown.
    token_cache_encrypted = models.TextField(blank=True, editable=False)
    # Dataverse's service protection budget of the connected user (``crm_settings.budget``): what
    # the latest answer said is left (the x-ms-ratelimit-* headers) and when, the largest values
    # ever reported (the limits, which vary between environments), the end of the latest
    # Retry-After, and how many requests the portal sent with this connection.
    budget_requests_remaining = models.PositiveIntegerField(null=True, blank=True, editable=False)
    budget_requests_limit = models.PositiveIntegerField(null=True, blank=True, editable=False)
    budget_seconds_remaining = models.FloatField(null=True, blank=True, editable=False)
    budget_seconds_limit = models.FloatField(null=True, blank=True, editable=False)
    budget_observed_at = models.DateTimeField(null=True, blank=True, editable=False)
    budget_retry_at = models.DateTimeField(null=True, blank=True, editable=False)
    budget_requests_sent = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = "CRM connection"

    def __str__(self):
        return f"{self.contract} → {self.environment_url}"

    @property
    def token_cache(self) -> str | None:
        return decrypt(self.token_cache_encrypted) if self.token_cache_encrypted else None

    @token_cache.setter
    def token_cache(self, value: str | None) -> None:
        self.token_cache_encrypted = encrypt(value) if value else ""

    def budget_share_left(self, *, now: datetime) -> float | None:
        """The smaller of requests and execution time left, as a share (0-1) of its limit.

        None when Dynamics never reported it, or reported it more than one window ago: the
        requests it counted then have left Dataverse's sliding 5-minute window since.
        """
        if self.budget_observed_at is None or now - self.budget_observed_at >= BUDGET_WINDOW:
            return None
        shares = [
            remaining / limit
            for remaining, limit in (
                (self.budget_requests_remaining, self.budget_requests_limit),
                (self.budget_seconds_remaining, self.budget_seconds_limit),
            )
            if remaining is not None and limit
        ]
        return min(shares) if shares else None

    def budget_wait_until(self, *, now: datetime, reserve: float) -> datetime | None:
        """When background work may use this connection again; None when it may now.

        Not before Dynamics' Retry-After ends; and, while less than ``reserve`` (a share, 0-1)
        of the budget is left, not before the window has moved past the last report, so that
        the connected user's own use of Dynamics keeps its share.
        """
        if self.budget_retry_at is not None and self.budget_retry_at > now:
            return self.budget_retry_at
        share = self.budget_share_left(now=now)
        if share is not None and share < reserve:
            return self.budget_observed_at + BUDGET_WINDOW
        return None

    def record_url(self, logical_name: str, record_id) -> str:
        """A link that opens the record in Dynamics, in a browser: at the environment, or where
        ``DYNAMICS_BROWSER_URLS`` says a browser reaches it (the emulator's plain-http port)."""
        base = self.environment_url.rstrip("/")
        base = settings.DYNAMICS_BROWSER_URLS.get(base.lower(), base)
        return f"{base}/main.aspx?pagetype=entityrecord&etn={logical_name}&id={record_id}"


class AutoPause(models.Model):
    """One part of a live connection's work (the import, or writeback) counting its failures in
    a row, and paused once they reach the contract's ``pause_after_failures``.

    ``crm_settings.pausing`` makes every change. The row belongs to the connection: disconnecting
    deletes it, so a new connection starts counting afresh.
    """

    class Part(models.TextChoices):
        SYNC = "sync", "Sync"
        WRITEBACK = "writeback", "Writeback"

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="pauses")
    part = models.CharField(max_length=20, choices=Part.choices)
    failures = models.PositiveIntegerField(
        default=0, help_text="Failed syncs (or writeback drains) in a row."
    )
    last_error_kind = models.CharField(max_length=20, blank=True)
    last_error_detail = models.TextField(blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # Set while paused: the schedule and the tasks leave this part alone until an admin resumes.
    paused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "auto-pause"
        constraints = [
            models.UniqueConstraint(fields=["connection", "part"], name="one_auto_pause_per_part"),
        ]

    def __str__(self):
        state = f"paused since {self.paused_at:%Y-%m-%d %H:%M}" if self.paused_at else "running"
        return f"{self.get_part_display()} of {self.connection.contract}: {state}"


class ApiUsage(models.Model):
    """What the portal asked of Dynamics for one contract in one hour: the requests it sent, how
    close Dataverse's 5-minute budget came to running out, and how often Dynamics asked it to
    wait. Written with every stored budget reading (``crm_settings.budget``); the CRM Sync
    overview charts it per day. Hours, in UTC, so that days can be cut in any time zone.

    Kept per contract, not per connection: a reconnect does not start the history again.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField(help_text="The start of the hour (UTC).")
    requests_sent = models.PositiveIntegerField(default=0)
    # The least Dynamics said was left in any answer of the hour, and the limits as reported so
    # far (the remaining value plus the answer's own request, as on the connection).
    lowest_requests_remaining = models.PositiveIntegerField(null=True, blank=True)
    requests_limit = models.PositiveIntegerField(null=True, blank=True)
    lowest_seconds_remaining = models.FloatField(null=True, blank=True)
    seconds_limit = models.FloatField(null=True, blank=True)
    # Answers with Retry-After that made the portal wait longer than it already did.
    waits = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "API usage (hour)"
        verbose_name_plural = "API usage (hours)"
        ordering = ["-hour"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "hour"], name="api_usage_once_per_hour"),
        ]

    def __str__(self):
        return f"{self.contract} {self.hour:%Y-%m-%d %H:00}: {self.requests_sent} requests"


class WorkerSlot(models.Model):
    """One of the task workers a contract may hold at once (``Q_MAX_WORKERS_PER_CONTRACT``).

    ``crm_settings.slots`` takes and frees them: a slot is held while ``holder`` is set and
    ``lease_until`` is ahead; its worker renews the lease while it works, so a slot whose worker
    died (kill -9, a lost machine) is free again a lease after the last renewal.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveSmallIntegerField()
    # The holding task's random token; "" while free.
    holder = models.CharField(max_length=32, blank=True)
    # The task that holds it, by name (for the staff admin and the logs).
    task = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "worker slot"
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="one_worker_slot_number"),
        ]

    def __str__(self):
        return f"Slot {self.number} of {self.contract}: {self.task or 'free'}"


class SlotWaiter(models.Model):
    """A task that found its contract's worker slots taken, waiting to be started again.

    One row per contract and task: a second task of the same kind that steps aside joins the
    first (the import's run, and the writeback drain, already merge what each asked for). The
    task freeing a slot starts the waiters (``crm_settings.slots``), and the minute sweep those
    a dead worker left.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    func = models.CharField(max_length=100, help_text="The task, by its dotted name.")
    args = models.JSONField(default=list, help_text="Its arguments (plain JSON values).")
    waiting_since = models.DateTimeField()

    class Meta:
        verbose_name = "task waiting for a worker slot"
        verbose_name_plural = "tasks waiting for a worker slot"
        constraints = [
            models.UniqueConstraint(fields=["contract", "func"], name="one_slot_waiter_per_task"),
        ]

    def __str__(self):
        return f"{self.func} of {self.contract}, waiting since {self.waiting_since:%H:%M:%S}"
