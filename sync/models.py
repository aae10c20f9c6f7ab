"""The import's state: a mirror of the CRM rows it reads, its runs, cursors and problems.

Mirror rows (``CrmUser``, ``CrmCurrency``, ``CrmAccount``, ``CrmContact``, ``CrmOpportunity``)
keep the columns the rules and the reports need, keyed by (contract, CRM id). They refer to each
other by CRM id, not by foreign key, because Dynamics hands pages over in any order (a contact may
arrive before its account).
Matches to the prospecting network (``company``/``member``) are stored with how they matched.
The mirror's foreign keys to the contract and the network carry no database constraint: the
import alone writes these rows, in bulk, and a constraint check per row cost about a tenth of a
large import's time (measured) while guarding nothing the import does not already ensure; Django
still applies ``on_delete`` when a contract, member or company is deleted.

``SyncRun`` records one run: its trigger, state, progress and counts. At most one run per contract
is queued or running, enforced by a partial unique index. ``SyncCursor`` remembers, per table,
where the last read stopped (a nextLink to resume a killed run, and the deltaLink or watermark
for the next incremental read).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from network.models import Company, Member
from seats.models import Contract, Seat


class MatchMethod(models.TextChoices):
    """How a CRM row matched the prospecting network (``sync.matching``); "" when it did not."""

    EMAIL = "email", "Email"
    PROFILE_URL = "profile_url", "LinkedIn profile URL"
    NAME_COMPANY = "name_company", "Name and company"
    DOMAIN = "domain", "Website domain"
    NAME = "name", "Name"
    NONE = "", "Not matched"


class MirrorQuerySet(models.QuerySet):
    def for_contract(self, contract):
        return self.filter(contract=contract)


class _Mirror(models.Model):
    # No index of its own: the unique (contract, crm_id) constraint serves contract lookups.
    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    crm_id = models.UUIDField()
    modified_on = models.DateTimeField(null=True, blank=True)
    # The run that last saw this row in a full read; rows a reconciled full read did not see are
    # gone from the CRM and are removed.
    seen_in_run = models.BigIntegerField(null=True, blank=True)

    objects = MirrorQuerySet.as_manager()

    class Meta:
        abstract = True


class CrmUser(_Mirror):
    """A Dynamics system user; seats map to them by email."""

    class AccessMode(models.IntegerChoices):
        """Dataverse's ``systemuser.accessmode``: how the user may reach the org."""

        READ_WRITE = 0, "Read-Write"
        ADMINISTRATIVE = 1, "Administrative"
        READ = 2, "Read"
        SUPPORT_USER = 3, "Support User"
        NON_INTERACTIVE = 4, "Non-interactive"
        DELEGATED_ADMIN = 5, "Delegated Admin"

    # Accounts that are not one of the org's people at work: integrations signing in with no
    # user interface (the usual integration user) and Microsoft's or a partner's own support
    # accounts. *Assign seats from CRM* leaves them out unless asked to show them.
    NOT_PEOPLE = (AccessMode.SUPPORT_USER, AccessMode.NON_INTERACTIVE, AccessMode.DELEGATED_ADMIN)

    full_name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True, db_index=True)
    domain_name = models.CharField(max_length=254, blank=True, db_index=True)
    azure_object_id = models.UUIDField(null=True, blank=True)
    is_disabled = models.BooleanField(default=False)
    is_application_user = models.BooleanField(default=False)
    access_mode = models.SmallIntegerField(choices=AccessMode.choices, null=True, blank=True)

    class Meta:
        ordering = ["full_name"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "crm_id"], name="crm_user_unique"),
        ]
        verbose_name = "CRM user"

    def __str__(self):
        return self.full_name or self.email or str(self.crm_id)

    @property
    def kind_label(self) -> str:
        """ "Application user", an access mode that is not a person's, or "" for a person."""
        if self.is_application_user:
            return "Application user"
        if self.access_mode in self.NOT_PEOPLE:
            return self.get_access_mode_display()
        return ""


class CrmCurrency(_Mirror):
    """A currency of the org (``transactioncurrency``): what a won value's amount is in."""

    iso_code = models.CharField(max_length=5, blank=True)
    symbol = models.CharField(max_length=10, blank=True)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["iso_code"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "crm_id"], name="crm_currency_unique"),
        ]
        verbose_name = "CRM currency"
        verbose_name_plural = "CRM currencies"

    def __str__(self):
        return self.iso_code or self.name or str(self.crm_id)


class CrmAccount(_Mirror):
    name = models.CharField(max_length=200, blank=True)
    website = models.CharField(max_length=300, blank=True)
    # Matching keys (network.normalize): the website's host and the normalised name.
    domain = models.CharField(max_length=255, blank=True)
    name_key = models.CharField(max_length=255, blank=True)
    owner_id = models.UUIDField(null=True, blank=True)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    match_method = models.CharField(max_length=20, blank=True, choices=MatchMethod.choices)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "crm_id"], name="crm_account_unique"),
        ]
        verbose_name = "CRM account"

    def __str__(self):
        return self.name or str(self.crm_id)


class CrmContact(_Mirror):
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    full_name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    account_id = models.UUIDField(null=True, blank=True)
    profile_url = models.CharField(max_length=300, blank=True)
    # Matching keys (network.normalize): the profile URL and the normalised "first last" name;
    # the name is matched together with the name key of the contact's account.
    profile_key = models.CharField(max_length=300, blank=True)
    name_key = models.CharField(max_length=200, blank=True)
    member = models.ForeignKey(
        Member,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    match_method = models.CharField(max_length=20, blank=True, choices=MatchMethod.choices)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "crm_id"], name="crm_contact_unique"),
        ]
        verbose_name = "CRM contact"

    def __str__(self):
        return self.full_name or str(self.crm_id)


class CrmOpportunity(_Mirror):
    class State(models.IntegerChoices):
        OPEN = 0, "Open"
        WON = 1, "Won"
        LOST = 2, "Lost"

    name = models.CharField(max_length=300, blank=True)
    owner_id = models.UUIDField(null=True, blank=True)
    state = models.SmallIntegerField(choices=State.choices, default=State.OPEN)
    sales_stage = models.IntegerField(null=True, blank=True)
    account_id = models.UUIDField(null=True, blank=True)
    contact_id = models.UUIDField(null=True, blank=True)
    # The customer (an account or a contact; Dynamics' customerid lookup may point at either).
    customer_id = models.UUIDField(null=True, blank=True)
    estimated_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    won_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    # Set by Dynamics when the opportunity closes (a date: "Actual Close Date" is date-only).
    actual_close_date = models.DateField(null=True, blank=True)
    # The transaction currency (a ``CrmCurrency`` by CRM id): what ``won_value`` is counted in,
    # unless the won-value column is a ``_base`` one (the org's base currency).
    currency_id = models.UUIDField(null=True, blank=True)
    # Whether the owner's seat had the deal's account or people saved in the portal, looked up
    # once when the import first finds the opportunity won (``sync.evaluate.won_saves_record``),
    # before the imported saves that lose their reason with the win go: the earliest save, or
    # None when there was none. Never written by a page's upsert (whose INSERT leaves it to the
    # database's default).
    won_saves_checked = models.BooleanField(default=False, db_default=False)
    first_saved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "crm_id"], name="crm_opportunity_unique"),
        ]
        indexes = [
            models.Index(fields=["contract", "owner_id", "state"]),
            models.Index(fields=["contract", "account_id"]),
            models.Index(fields=["contract", "contact_id"]),
            models.Index(fields=["contract", "customer_id"]),
            # The few rows whose win is to be looked at, or whose check a reopening undoes.
            models.Index(
                fields=["contract"],
                condition=Q(state=1, won_saves_checked=False),
                name="crm_opp_won_unchecked",
            ),
            models.Index(
                fields=["contract"],
                condition=Q(won_saves_checked=True) & ~Q(state=1),
                name="crm_opp_checked_reopened",
            ),
        ]
        verbose_name = "CRM opportunity"
        verbose_name_plural = "CRM opportunities"

    def __str__(self):
        return self.name or str(self.crm_id)


class SeatCrmUser(models.Model):
    """Which CRM user a seat maps to (by email), or why none: *Not Matched* with the reason."""

    seat = models.OneToOneField(Seat, on_delete=models.CASCADE, related_name="crm_link")
    crm_user = models.ForeignKey(
        CrmUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="seat_links"
    )
    reason = models.CharField(max_length=300, blank=True)
    matched_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "seat to CRM user mapping"

    def __str__(self):
        return f"{self.seat_id} → {self.crm_user or 'Not Matched'}"


class SyncRun(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Sync in progress"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        CONNECT = "connect", "First sync after connecting"
        SCHEDULE = "schedule", "Scheduled"
        MANUAL = "manual", "Sync now"
        SETTINGS = "settings", "Settings changed"
        SEATS = "seats", "Seat sync changed"
        RERUN = "rerun", "Follow-up of a request merged into the previous run"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    full = models.BooleanField(default=False, help_text="Read every row instead of changes.")
    # A trigger that arrived while this run was active: merged into it instead of a second run.
    rerun_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # A token naming the worker that claimed the run; its page writes only count while it still
    # holds the claim (a worker that lost it to a takeover stops at its next page).
    worker = models.CharField(max_length=36, blank=True)
    # How many times a later worker took the run over after its worker died.
    resumes = models.PositiveSmallIntegerField(default=0)
    phase = models.CharField(max_length=40, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # {"contact": {"read": 0, "created": 0, "updated": 0, "removed": 0, "unmatched": 0,
    #  "failed": 0}, ..., "saves": {...}}
    counts = models.JSONField(default=dict, blank=True)
    requests = models.PositiveIntegerField(default=0)
    error_kind = models.CharField(max_length=20, blank=True)
    error_detail = models.TextField(blank=True)
    # The mirror when the run succeeded: how many CRM accounts and contacts it held and how many
    # of them matched a network company or member (the overview's match rate over time). None
    # for runs that did not succeed, and for those before it was recorded.
    accounts_total = models.PositiveIntegerField(null=True, blank=True)
    accounts_matched = models.PositiveIntegerField(null=True, blank=True)
    contacts_total = models.PositiveIntegerField(null=True, blank=True)
    contacts_matched = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(state__in=["queued", "running"]),
                name="one_active_sync_per_contract",
            )
        ]
        indexes = [models.Index(fields=["contract", "-created_at"])]

    def __str__(self):
        return f"Sync {self.pk} of {self.contract_id} ({self.state})"

    # What a run is doing, by the phase it records (a table's logical name, then "saves").
    PHASE_LABELS = {
        "systemuser": "Reading CRM users",
        "transactioncurrency": "Reading currencies",
        "account": "Reading accounts",
        "contact": "Reading contacts",
        "opportunity": "Reading opportunities",
        "saves": "Saving Accounts and Leads",
    }
    COUNTED_TABLES = {
        "systemuser": "Users",
        "transactioncurrency": "Currencies",
        "account": "Accounts",
        "contact": "Contacts",
        "opportunity": "Opportunities",
    }

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def phase_label(self) -> str:
        if self.state == self.State.QUEUED:
            return "Waiting for a worker"
        return self.PHASE_LABELS.get(self.phase, "Starting")

    @property
    def rows_read(self) -> int:
        return sum(self.counts.get(table, {}).get("read", 0) for table in self.COUNTED_TABLES)

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    def table_counts(self) -> list[tuple[str, dict]]:
        """(label, counts) per table read, in reading order, for the run's page."""
        return [
            (label, self.counts[table])
            for table, label in self.COUNTED_TABLES.items()
            if table in self.counts
        ]

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class SyncProblem(models.Model):
    """A CRM row the run could not use, and why (bad data never stops a run)."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="problems")
    table = models.CharField(max_length=40)
    crm_id = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.table} {self.crm_id}: {self.reason}"


class SyncCursor(models.Model):
    """Where reading one table stopped, and how the next read continues."""

    class Mode(models.TextChoices):
        DELTA = "delta", "Change tracking"
        WATERMARK = "watermark", "Modified since"

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="+")
    table = models.CharField(max_length=40)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.DELTA)
    # Set while a read is under way: the page to fetch next (a killed run resumes from here).
    next_link = models.TextField(blank=True)
    # The run the next_link belongs to, and whether that read is a full (reconciling) read.
    next_link_run = models.BigIntegerField(null=True, blank=True)
    next_link_full = models.BooleanField(default=False)
    delta_link = models.TextField(blank=True)
    # The $select the links and watermark were made with; another column list needs a full read.
    columns = models.TextField(blank=True)
    watermark = models.DateTimeField(null=True, blank=True)
    last_full_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contract", "table"], name="sync_cursor_unique"),
        ]

    def __str__(self):
        return f"{self.contract_id} {self.table} ({self.mode})"


class FlagReason(models.TextChoices):
    """Why a CRM contact's data looks stale against the prospecting network (``sync.flags``)."""

    # The real product's "not at company" flag.
    NOT_AT_COMPANY = "not_at_company", "Not at company"
    EMAIL_DOMAIN = "email_domain", "Email domain differs from website"
    NO_POSITION = "no_position", "No current position"


class ContactFlag(models.Model):
    """One reason a CRM contact's data looks stale, in words, as the import last worked it out.

    Written by the import only (``sync.flags.flags_refresh``), for the contacts whose inputs it
    touched; a page never computes one. ``inputs`` holds the values the rule looked at, as text:
    a row is rewritten only when they (or the words) change, and *Dismiss* remembers the inputs
    it was given, so a dismissed flag comes back once the flagged data changes.
    """

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(CrmContact, on_delete=models.CASCADE, related_name="flags")
    reason = models.CharField(max_length=20, choices=FlagReason.choices)
    detail = models.CharField(max_length=500)
    inputs = models.CharField(max_length=500)
    # When the import created the flag or last changed its inputs or words.
    updated_at = models.DateTimeField()
    dismissed_inputs = models.CharField(max_length=500, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "reason"], name="contact_flag_once"),
        ]
        indexes = [models.Index(fields=["contract", "reason"], name="contact_flag_reason")]
        verbose_name = "contact data flag"

    def __str__(self):
        return f"{self.contact_id}: {self.get_reason_display()}"

    @property
    def dismissed(self) -> bool:
        """Dismissed, and the flagged data is still what it was then."""
        return bool(self.dismissed_inputs) and self.dismissed_inputs == self.inputs
