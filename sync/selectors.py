"""Reads of the import for pages, tasks and other apps (a fixed number of queries each).

Other apps read the import's facts through here: the seat holder's Accounts and Leads pages ask
``company_crm_records`` / ``member_crm_records``, ``seat_import_status`` and, for their lists'
stage, value and owner columns, ``saves_with_opportunity``; Seat Management can
ask ``seat_import_status`` (or ``record_page`` with ``kind="seats"``) for a seat's *In CRM* state.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, RowNumber, TruncDate
from django.utils import timezone

from common.lists import Sorts
from crm_settings.messages import AdminMessage, admin_message
from crm_settings.models import AutoPause, CrmConnection, CrmSettings
from seats.models import Contract, Seat
from sync.explain import Explanation, accounts_explain, contacts_explain, seats_explain
from sync.models import (
    CrmAccount,
    CrmContact,
    CrmOpportunity,
    CrmUser,
    SeatCrmUser,
    SyncProblem,
    SyncRun,
)
from sync.runs import stale_before

_DEFAULT_INTERVAL = CrmSettings._meta.get_field("sync_interval_minutes").default


def contracts_due_for_sync(*, now=None) -> list[int]:
    """Ids of connected contracts that need a run now (2 queries).

    Due: the last run started ``sync_interval_minutes`` ago or more (or there was none), with
    no run active; or the active run's worker died (a stale heartbeat, or queued and never
    picked up), so the next task takes it over. A contract whose sync paused itself after
    failing too often in a row (``crm_settings.pausing``) is never due until it is resumed.
    """
    now = now or timezone.now()
    contracts = (
        Contract.objects.filter(crm_connection__isnull=False)
        .exclude(Exists(_sync_paused()))
        .annotate(
            last_run=Max("sync_runs__created_at"),
            interval=Coalesce("crm_settings__sync_interval_minutes", _DEFAULT_INTERVAL),
        )
        .values_list("pk", "last_run", "interval")
        .order_by("pk")
    )
    stale = stale_before()
    active = {
        run.contract_id: run
        for run in SyncRun.objects.filter(
            state__in=SyncRun.ACTIVE_STATES, contract__crm_connection__isnull=False
        )
    }
    due = []
    for pk, last_run, interval in contracts:
        run = active.get(pk)
        if run is not None:
            dead = run.heartbeat_at if run.state == SyncRun.State.RUNNING else run.created_at
            if dead is not None and dead < stale:
                due.append(pk)
        elif _due_at(last_run=last_run, interval=interval, now=now) <= now:
            due.append(pk)
    return due


def _sync_paused():
    """The outer contract's sync paused itself (``crm_settings.pausing``), as a subquery."""
    return AutoPause.objects.filter(
        connection__contract=OuterRef("pk"), part=AutoPause.Part.SYNC, paused_at__isnull=False
    )


def _due_at(*, last_run: datetime | None, interval: int, now: datetime) -> datetime:
    """When a contract's next scheduled run is due: ``interval`` minutes after the last run was
    asked for, whatever asked for it (now, when there was none)."""
    return now if last_run is None else last_run + timedelta(minutes=interval)


def sync_next_run_at(*, contract: Contract, now: datetime | None = None) -> datetime | None:
    """When the schedule next starts an import for the contract (by ``contracts_due_for_sync``'s
    rule); ``now`` when one is due already, None when the contract is not connected or its sync
    paused itself (1 query).

    The schedule's tick runs every minute, so the run starts within a minute of this; a run
    still active when it is due is followed only once it has finished.
    """
    now = now or timezone.now()
    found = (
        Contract.objects.filter(pk=contract.pk, crm_connection__isnull=False)
        .exclude(Exists(_sync_paused()))
        .annotate(
            last_run=Max("sync_runs__created_at"),
            interval=Coalesce("crm_settings__sync_interval_minutes", _DEFAULT_INTERVAL),
        )
        .values_list("last_run", "interval")
        .first()
    )
    if found is None:
        return None
    return max(_due_at(last_run=found[0], interval=found[1], now=now), now)


@dataclass
class SyncStatus:
    """What CRM Settings shows about the import."""

    active: SyncRun | None
    last_finished: SyncRun | None
    last_success: SyncRun | None
    # Connected, but the first import's task has not reached a worker yet (its run is created
    # there): the panel keeps asking until the run shows up.
    waiting: bool = False

    @property
    def refreshing(self) -> bool:
        return self.active is not None or self.waiting

    @property
    def first_sync(self) -> bool:
        """The first import after connecting is under way: "Successfully connected, sync in
        progress"."""
        return (self.active is not None or self.waiting) and self.last_success is None

    @property
    def error(self) -> AdminMessage | None:
        """The seed's message and next step for the last run, when it failed."""
        run = self.last_finished
        if run is None or run.state != SyncRun.State.FAILED:
            return None
        return admin_message(run.error_kind, run.error_detail)


# How long after connecting the status panel waits for the first run to appear before it stops
# asking (a stopped worker must not keep a page polling for ever).
FIRST_SYNC_WAIT = timedelta(minutes=10)


def sync_status(*, contract: Contract) -> SyncStatus:
    runs = SyncRun.objects.filter(contract=contract)
    active = runs.filter(state__in=SyncRun.ACTIVE_STATES).first()
    connected_at = (
        CrmConnection.objects.filter(contract=contract)
        .values_list("connected_at", flat=True)
        .first()
    )
    return SyncStatus(
        active=active,
        last_finished=runs.filter(finished_at__isnull=False).order_by("-finished_at").first(),
        last_success=runs.filter(state=SyncRun.State.SUCCEEDED).order_by("-finished_at").first(),
        waiting=(
            active is None
            and connected_at is not None
            and connected_at > timezone.now() - FIRST_SYNC_WAIT
            and not runs.filter(created_at__gte=connected_at).exists()
        ),
    )


def mirror_match_totals(*, contract: Contract) -> dict[str, int]:
    """How many CRM accounts and contacts the contract's mirror holds, and how many matched a
    network company or member: the ``SyncRun`` fields a succeeded run records (2 queries)."""
    totals = {}
    for name, model, link in (
        ("accounts", CrmAccount, "company"),
        ("contacts", CrmContact, "member"),
    ):
        counts = (
            model.objects.filter(contract=contract)
            .order_by()
            .aggregate(
                total=Count("pk"), matched=Count("pk", filter=Q(**{f"{link}__isnull": False}))
            )
        )
        totals[f"{name}_total"] = counts["total"]
        totals[f"{name}_matched"] = counts["matched"]
    return totals


# Sync history's sortable columns; the newest run first unless asked otherwise.
HISTORY_SORTS = Sorts(
    {
        "started": ["started"],
        "trigger": ["trigger", "-started"],
        "state": ["state", "-started"],
        "took": ["took"],
        "requests": ["requests", "-started"],
        "problems": ["problem_count", "-started"],
    },
    default="-started",
)


def sync_run_history(
    *,
    contract: Contract,
    search: str = "",
    state: str = "",
    trigger: str = "",
    sort: str = "-started",
) -> QuerySet[SyncRun]:
    """The contract's runs for Sync history, with ``problem_count``, ``started`` (when it
    started, or was queued) and ``took``, searched, filtered and sorted (``HISTORY_SORTS``).

    ``search`` looks in the run's error and in its problems' reasons and CRM ids (which runs
    could not use this record?).
    """
    runs = SyncRun.objects.filter(contract=contract)
    if state:
        runs = runs.filter(state=state)
    if trigger:
        runs = runs.filter(trigger=trigger)
    if search:
        problems = SyncProblem.objects.filter(run=OuterRef("pk")).filter(
            Q(reason__icontains=search) | Q(crm_id__icontains=search)
        )
        runs = runs.filter(Q(error_detail__icontains=search) | Exists(problems))
    problem_count = (
        SyncProblem.objects.filter(run=OuterRef("pk"))
        .order_by()
        .values("run")
        .annotate(count=Count("pk"))
        .values("count")
    )
    runs = runs.annotate(
        problem_count=Coalesce(Subquery(problem_count), Value(0)),
        started=Coalesce("started_at", "created_at"),
        took=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField()),
    )
    return runs.order_by(*HISTORY_SORTS.ordering(sort))


def sync_run_problems(*, run: SyncRun) -> QuerySet[SyncProblem]:
    return run.problems.order_by("id")


def mirror_accounts(*, contract: Contract, search: str = "", unmatched: bool = False):
    """The contract's mirrored accounts for the records page, with their network company."""
    accounts = CrmAccount.objects.filter(contract=contract).select_related("company")
    if search:
        accounts = accounts.filter(Q(name__icontains=search) | Q(website__icontains=search))
    if unmatched:
        accounts = accounts.filter(company__isnull=True)
    return accounts.order_by("name", "pk")


def mirror_contacts(*, contract: Contract, search: str = "", unmatched: bool = False):
    """The contract's mirrored contacts for the records page, with their network member."""
    contacts = CrmContact.objects.filter(contract=contract).select_related("member")
    if search:
        contacts = contacts.filter(Q(full_name__icontains=search) | Q(email__icontains=search))
    if unmatched:
        contacts = contacts.filter(member__isnull=True)
    return contacts.order_by("last_name", "first_name", "pk")


def _seats(*, contract: Contract, search: str = "", unmatched: bool = False):
    seats = Seat.objects.filter(contract=contract).select_related("user", "crm_link__crm_user")
    if search:
        seats = seats.filter(
            Q(user__email__icontains=search)
            | Q(user__first_name__icontains=search)
            | Q(user__last_name__icontains=search)
        )
    if unmatched:
        seats = seats.filter(Q(crm_link__isnull=True) | Q(crm_link__crm_user__isnull=True))
    return seats.order_by("user__email", "pk")


@dataclass
class RecordRow:
    """A CRM contact or account (or a seat) with the answer to *Why not imported?*."""

    record: object
    explanation: Explanation


# kind: (label, rows, explain, the explain function's keyword)
RECORD_KINDS = {
    "contacts": ("Contacts", mirror_contacts, contacts_explain, "contacts"),
    "accounts": ("Accounts", mirror_accounts, accounts_explain, "accounts"),
    "seats": ("Seats", _seats, seats_explain, "seats"),
}


def record_page(
    *, contract: Contract, kind: str, search: str, unmatched: bool, page_number, page_size: int
) -> Page:
    """One page of the records list, each row with its explanation (a fixed number of queries)."""
    _, rows, explain, keyword = RECORD_KINDS[kind]
    page = Paginator(rows(contract=contract, search=search, unmatched=unmatched), page_size)
    page = page.get_page(page_number)
    records = list(page.object_list)
    explanations = explain(contract=contract, **{keyword: records})
    page.object_list = [RecordRow(record, explanations[record.pk]) for record in records]
    return page


def company_crm_records(*, seat: Seat, company_id: int) -> list[RecordRow]:
    """The seat's contract's CRM accounts matched to a network company, explained for the seat."""
    accounts = list(CrmAccount.objects.filter(contract_id=seat.contract_id, company_id=company_id))
    explanations = accounts_explain(contract=seat.contract, accounts=accounts, seat=seat)
    return [RecordRow(account, explanations[account.pk]) for account in accounts]


def member_crm_records(*, seat: Seat, member_id: int) -> list[RecordRow]:
    """The seat's contract's CRM contacts matched to a network member, explained for the seat."""
    contacts = list(CrmContact.objects.filter(contract_id=seat.contract_id, member_id=member_id))
    explanations = contacts_explain(contract=seat.contract, contacts=contacts, seat=seat)
    return [RecordRow(contact, explanations[contact.pk]) for contact in contacts]


def seat_import_status(*, seat: Seat) -> Explanation:
    """Whether the seat's CRM records are imported, and if not which rule keeps them out."""
    return seats_explain(contract=seat.contract, seats=[seat])[seat.pk]


def saves_with_opportunity(
    *, saves: QuerySet, seat: Seat, connection: CrmConnection | None, kind: str
) -> QuerySet:
    """The seat's saved Accounts (``kind="account"``) or Leads (``"lead"``) annotated with the
    open opportunity their CRM record is on, for the columns of the Accounts and Leads lists.

    The opportunity: an open one regarding the save's CRM record (the account; the contact as
    ``parentcontactid`` or customer), the seat's own CRM user's first, then the largest estimated
    value. Annotations, None where there is none (a save made by hand only, no connection):

    - ``opportunity_stage``: its sales stage label, as the CRM names it;
    - ``opportunity_stage_rank``: the stage's place in the CRM's pipeline order (to sort by);
    - ``opportunity_value``: its estimated value; ``opportunity_owner``: its owner's name.

    Subqueries of the same query, so a page of the list costs the same queries at any size.
    """
    if connection is None:
        return saves.annotate(
            opportunity_stage=Value(None, output_field=CharField()),
            opportunity_stage_rank=Value(None, output_field=IntegerField()),
            opportunity_value=Value(None, output_field=DecimalField()),
            opportunity_owner=Value(None, output_field=CharField()),
        )
    record = OuterRef("crm_record_id")
    on_record = (
        Q(account_id=record) if kind == "account" else Q(contact_id=record) | Q(customer_id=record)
    )
    own_user = SeatCrmUser.objects.filter(seat=seat).values("crm_user__crm_id")[:1]
    opportunities = (
        CrmOpportunity.objects.filter(on_record, contract_id=seat.contract_id)
        .filter(state=CrmOpportunity.State.OPEN)
        .annotate(
            own=Case(When(owner_id=Subquery(own_user), then=Value(0)), default=Value(1)),
            owner_name=Subquery(
                CrmUser.objects.filter(
                    contract_id=seat.contract_id, crm_id=OuterRef("owner_id")
                ).values("full_name")[:1]
            ),
        )
        .order_by("own", F("estimated_value").desc(nulls_last=True), "-modified_on", "pk")
    )
    options = [option for option in connection.stage_options if "value" in option]
    stage = Subquery(opportunities.values("sales_stage")[:1])
    return saves.annotate(
        opportunity_sales_stage=stage,
        opportunity_stage=Case(
            *(
                When(opportunity_sales_stage=option["value"], then=Value(option.get("label", "")))
                for option in options
            ),
            default=Cast("opportunity_sales_stage", CharField()),
            output_field=CharField(),
        ),
        # A stage the org no longer lists sorts after the known ones; no opportunity, last.
        opportunity_stage_rank=Case(
            When(opportunity_sales_stage__isnull=True, then=Value(None)),
            *(
                When(opportunity_sales_stage=option["value"], then=Value(rank))
                for rank, option in enumerate(options)
            ),
            default=Value(len(options)),
            output_field=IntegerField(),
        ),
        opportunity_value=Subquery(opportunities.values("estimated_value")[:1]),
        opportunity_owner=Subquery(opportunities.values("owner_name")[:1]),
    )


# --- The overview's charts (a fixed number of queries whatever the number of runs) -------------

# What a run counts as rows changed in the mirror, in each table it read.
ROW_CHANGES = ("created", "updated", "removed")


def _rows_changed():
    """The run's rows changed, summed from its ``counts`` in SQL."""
    total = Value(0)
    for table in SyncRun.COUNTED_TABLES:
        for change in ROW_CHANGES:
            count = Cast(KT(f"counts__{table}__{change}"), IntegerField())
            total = total + Coalesce(count, Value(0))
    return total


@dataclass(frozen=True)
class RunsDay:
    """The runs asked for on one day, how they ended, what they changed and the problems met."""

    day: date
    runs: int
    succeeded: int
    failed: int
    rows_changed: int
    problems: int


def sync_runs_per_day(*, contract: Contract, since: datetime, tz: tzinfo) -> list[RunsDay]:
    """The contract's runs from ``since`` on, per day (in ``tz``) that has any, oldest first; a
    run counts on the day it was asked for (2 queries)."""
    runs = SyncRun.objects.filter(contract=contract, created_at__gte=since).order_by()
    per_day = (
        runs.annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(
            runs=Count("pk"),
            succeeded=Count("pk", filter=Q(state=SyncRun.State.SUCCEEDED)),
            failed=Count("pk", filter=Q(state=SyncRun.State.FAILED)),
            rows_changed=Sum(_rows_changed()),
        )
        .order_by("day")
    )
    problems = dict(
        SyncProblem.objects.filter(run__in=runs)
        .order_by()
        .annotate(day=TruncDate("run__created_at", tzinfo=tz))
        .values("day")
        .annotate(count=Count("pk"))
        .values_list("day", "count")
    )
    return [
        RunsDay(
            day=row["day"],
            runs=row["runs"],
            succeeded=row["succeeded"],
            failed=row["failed"],
            rows_changed=row["rows_changed"] or 0,
            problems=problems.get(row["day"], 0),
        )
        for row in per_day
    ]


@dataclass(frozen=True)
class MatchDay:
    """The mirror's match to the network at the end of a day's last succeeded run."""

    day: date
    accounts_total: int
    accounts_matched: int
    contacts_total: int
    contacts_matched: int

    @staticmethod
    def _percent(matched: int, total: int) -> float | None:
        return 100 * matched / total if total else None

    @property
    def accounts_percent(self) -> float | None:
        """Matched accounts, in percent of the mirror's; None when it held none."""
        return self._percent(self.accounts_matched, self.accounts_total)

    @property
    def contacts_percent(self) -> float | None:
        return self._percent(self.contacts_matched, self.contacts_total)


def sync_match_per_day(*, contract: Contract, since: datetime, tz: tzinfo) -> list[MatchDay]:
    """The match rate recorded by the last succeeded run of each day (in ``tz``) from ``since``
    on, oldest first (1 query: a window function picks each day's last run)."""
    day = TruncDate("finished_at", tzinfo=tz)
    runs = (
        SyncRun.objects.filter(
            contract=contract,
            state=SyncRun.State.SUCCEEDED,
            finished_at__gte=since,
            accounts_total__isnull=False,
            accounts_matched__isnull=False,
            contacts_total__isnull=False,
            contacts_matched__isnull=False,
        )
        .annotate(
            day=day,
            rank=Window(
                RowNumber(), partition_by=[day], order_by=[F("finished_at").desc(), F("pk").desc()]
            ),
        )
        .filter(rank=1)
        .order_by("day")
        .values_list(
            "day", "accounts_total", "accounts_matched", "contacts_total", "contacts_matched"
        )
    )
    return [MatchDay(*row) for row in runs]
