"""Reads of the import for pages, tasks and other apps (a fixed number of queries each).

Other apps read the import's facts through here: the seat holder's Accounts and Leads pages ask
``company_crm_records`` / ``member_crm_records`` and ``seat_import_status``; Seat Management can
ask ``seat_import_status`` (or ``record_page`` with ``kind="seats"``) for a seat's *In CRM* state.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm_settings.messages import AdminMessage, admin_message
from crm_settings.models import AutoPause, CrmConnection, CrmSettings
from seats.models import Contract, Seat
from sync.explain import Explanation, accounts_explain, contacts_explain, seats_explain
from sync.models import CrmAccount, CrmContact, SyncProblem, SyncRun
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
    paused = AutoPause.objects.filter(
        connection__contract=OuterRef("pk"), part=AutoPause.Part.SYNC, paused_at__isnull=False
    )
    contracts = (
        Contract.objects.filter(crm_connection__isnull=False)
        .exclude(Exists(paused))
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
        elif last_run is None or last_run <= now - timedelta(minutes=interval):
            due.append(pk)
    return due


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


def sync_run_history(*, contract: Contract) -> QuerySet[SyncRun]:
    runs = SyncRun.objects.filter(contract=contract).annotate(problem_count=Count("problems"))
    return runs.order_by("-created_at", "-id")


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
