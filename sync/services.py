"""Running the import for a contract: asking for a run, and carrying a claimed run to its end.

Views (*Sync now*), tasks (the schedule, the connect and settings triggers) and the
``sync_now`` command all come through here. The steps of one run are in ``sync_run_execute``;
how each table is read is in ``sync.reading``, how saves are decided in ``sync.evaluate``.
"""

import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, replace

from django import db
from django.conf import settings
from django.db import transaction

from config.logs import log_context
from crm_settings.budget import task_enqueue_after
from crm_settings.connect import (
    connection_clear_error,
    connection_record_error,
    crm_choices_refresh,
)
from crm_settings.crm import open_client
from crm_settings.messages import CrmProblem, error_kind
from crm_settings.models import AutoPause, CrmConnection, CrmSettings
from crm_settings.pausing import pause_failure_record, pause_success_record
from crm_settings.selectors import crm_connection_get, crm_settings_get
from dynamics import DynamicsClient, DynamicsError, Throttled
from seats.models import Contract
from sync.evaluate import saves_evaluate, saves_inputs, won_saves_record
from sync.flags import flags_refresh
from sync.mirror import (
    ACCOUNTS,
    CONTACTS,
    CURRENCIES,
    OPPORTUNITIES,
    TABLES,
    USERS,
    ReadContext,
    mirror_rematch,
    network_grew_since,
)
from sync.models import CrmUser, SyncRun
from sync.reading import table_read
from sync.runs import SAVES_PHASE, RunLost, RunRecorder, sync_run_request
from sync.selectors import mirror_match_totals
from sync.users import seat_mappings_refresh

logger = logging.getLogger(__name__)
# Reading the tables, then deciding the saves.
PROGRESS_STEPS = len(TABLES) + 1


def sync_enqueue(*, contract_id: int, trigger: str, full: bool = False) -> None:
    """Queue an import of the contract (``sync.tasks.sync_run``) once the current transaction
    commits, at once outside one (the schedule's tick).

    The one function that queues the import: *Sync now*, the schedule, the follow-up run,
    Seat Management. crm_settings, below sync, cannot import it and queues the same task by
    name (``crm_settings.services.import_enqueue``).
    """
    from django_q.tasks import async_task

    from sync.tasks import SYNC_RUN  # here, not at the top: sync.tasks imports this module

    transaction.on_commit(
        lambda: async_task(SYNC_RUN, contract_id, trigger, full=full, task_name=f"sync-{trigger}")
    )


def sync_enqueue_after(*, contract: Contract, trigger: str, full: bool = False, at) -> None:
    """Start ``sync.tasks.sync_run`` for the contract at ``at`` (after a Retry-After, or when the
    API budget has room again); a later call moves the one waiting run."""
    from sync.tasks import SYNC_RUN  # here, not at the top: sync.tasks imports this module

    task_enqueue_after(
        name=f"budget: sync of contract {contract.pk}",
        func=SYNC_RUN,
        args=(contract.pk, trigger, full),
        at=at,
    )


def sync_request(*, contract: Contract, trigger: str, full: bool = False) -> tuple[SyncRun, bool]:
    """Ask for an import now (*Sync now*): a queued run shown at once, or the active one.

    The run record exists before a worker picks it up, so CRM Settings shows it queued; a
    request while a run is active is merged into that run (``sync.runs``). The task is enqueued
    either way: when the active run's worker died, the task takes the run over. Returns (run,
    created).
    """
    run, created = sync_run_request(contract=contract, trigger=trigger, full=full)
    sync_enqueue(contract_id=contract.pk, trigger=trigger, full=full)
    return run, created


class _Disconnected(Exception):
    """The contract was disconnected while its run was reading."""


def _read_context(*, contract: Contract, crm_settings: CrmSettings) -> ReadContext:
    return ReadContext(
        contract_id=contract.pk,
        won_value_column=crm_settings.won_value_column_or_default,
        profile_url_column=crm_settings.contact_profile_url_column,
        stage_labels={o["value"]: o["label"] for o in crm_settings.pipeline_stage_options},
    )


def _previous_success(run: SyncRun) -> SyncRun | None:
    return (
        SyncRun.objects.filter(contract_id=run.contract_id, state=SyncRun.State.SUCCEEDED)
        .exclude(pk=run.pk)
        .order_by("-started_at")
        .first()
    )


class _Saves:
    """Deciding the run's saves: the Accounts as soon as accounts and opportunities are read,
    the Leads when the contacts are, and the Accounts again if what decides them changed.

    Before deciding, a table's unmatched rows are matched again when the network grew since the
    last successful run (``mirror_rematch``). Settings and seats are read when deciding, so a
    change merged into this run is honoured: at the end the Accounts are decided again when the
    gate, the sync modes or the seats are no longer what they were (``saves_inputs``). A change
    merged once the run is deciding its last saves asks for a follow-up run (``sync.runs``).
    """

    def __init__(self, *, run: SyncRun, context: ReadContext, recorder: RunRecorder):
        self.contract = run.contract
        self.context = context
        self.recorder = recorder
        # The contract's last successful run: what this one goes on from.
        self.previous = previous = _previous_success(run)
        # Asked once: both tables are matched again, or neither.
        self.rematch = previous is not None and network_grew_since(previous.started_at)
        self.accounts_inputs = None

    def accounts(self) -> None:
        """Decide the Accounts: accounts and opportunities are read."""
        self._rematch(ACCOUNTS)
        self.accounts_inputs = self._decide(("accounts",))

    def leads(self) -> None:
        """Decide the Leads, and the Accounts again if their inputs changed: all is read."""
        self.recorder.checkpoint(phase=SAVES_PHASE)
        self._rematch(CONTACTS)
        self._decide(("accounts", "leads"), progress_done=PROGRESS_STEPS)

    def _rematch(self, table) -> None:
        if not self.rematch:
            return
        rematched = mirror_rematch(
            contract_id=self.contract.pk,
            profile_url_column=self.context.profile_url_column,
            tables=(table,),
        )
        self.recorder.checkpoint(table="network", add={"rematched": rematched})

    def _decide(self, kinds: tuple[str, ...], **checkpoint) -> tuple:
        """Decide ``kinds`` (the Accounts only if not yet decided with the same inputs)."""
        if not CrmConnection.objects.filter(contract=self.contract).exists():
            raise _Disconnected()
        crm_settings = crm_settings_get(contract=self.contract)
        inputs = saves_inputs(contract=self.contract, crm_settings=crm_settings)
        if inputs == self.accounts_inputs:
            kinds = tuple(kind for kind in kinds if kind != "accounts")
        counts = saves_evaluate(contract=self.contract, crm_settings=crm_settings, kinds=kinds)
        self.recorder.checkpoint(table="saves", add=counts, **checkpoint)
        return inputs


def _import(*, run: SyncRun, client: DynamicsClient, recorder: RunRecorder) -> None:
    """The steps of one run, after the claim.

    1. Read the system users and map seats to CRM users by email (users may have arrived,
       changed or gone).
    2. Read currencies, accounts, contacts and opportunities into the mirror (``_read_tables``),
       each by full, delta, watermark or resumed read (``sync.reading``), deciding the Accounts
       on the way.
    3. Decide the Leads from the mirror in SQL (``_Saves``, ``sync.evaluate``), with the
       settings as they are now: a settings change merged into this run is honoured here.
    4. Recompute the data validation flags of the contacts whose inputs changed since the last
       successful run (``sync.flags``).
    """
    contract = run.contract
    context = _read_context(contract=contract, crm_settings=crm_settings_get(contract=contract))
    table_read(table=USERS, run=run, client=client, context=context, recorder=recorder)
    recorder.table_finished(of=PROGRESS_STEPS)
    seat_mappings_refresh(contract=contract)
    known = CrmUser.objects.filter(contract=contract).values_list("crm_id", flat=True)
    context = replace(context, user_ids=frozenset(str(crm_id) for crm_id in known))
    saves = _Saves(run=run, context=context, recorder=recorder)
    _read_tables(run=run, client=client, context=context, recorder=recorder, saves=saves)
    saves.leads()
    flags = flags_refresh(run=run, previous=saves.previous)
    recorder.checkpoint(table="flags", add=asdict(flags))


def _read_tables(
    *,
    run: SyncRun,
    client: DynamicsClient,
    context: ReadContext,
    recorder: RunRecorder,
    saves: _Saves,
) -> None:
    """Read currencies and accounts, then contacts and opportunities side by side, deciding the
    Accounts on the way.

    The currencies come first (one page: what won values are in). Then the accounts, alone:
    contacts are matched by their account's name, so accounts then contacts is the longest path,
    and it goes fastest with the machine to itself. Then two lanes:

    - the contacts;
    - the opportunities, then, before the Accounts' saves (accounts and opportunities are both
      in), what the owners of newly won ones had saved (``won_saves_record``: the import's saves
      of a won deal go when the Accounts and Leads are decided).

    The lanes run at once when they can have a database connection each (PostgreSQL, outside a
    transaction): the import then overlaps one lane's database work with the other's download
    and conversion, and the Accounts are decided while the contacts are still coming. Every page
    still commits with its own checkpoint, so a run killed at any moment resumes each table from
    its last page. When one lane fails, the other finishes its current step (its pages are kept)
    and the first failure is raised.
    """

    def read(table) -> None:
        table_read(table=table, run=run, client=client, context=context, recorder=recorder)
        recorder.table_finished(of=PROGRESS_STEPS)

    def opportunities_and_accounts_saves() -> None:
        read(OPPORTUNITIES)
        won_saves_record(contract=run.contract)
        saves.accounts()

    read(CURRENCIES)
    read(ACCOUNTS)
    parallel = (
        settings.SYNC_PARALLEL_READS
        and db.connection.vendor == "postgresql"
        and not db.connection.in_atomic_block
    )
    if not parallel:
        read(CONTACTS)
        opportunities_and_accounts_saves()
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-lane") as pool:
        # The lane's log lines carry the run's ids (config.logs).
        other = pool.submit(
            contextvars.copy_context().run, _with_own_connection, opportunities_and_accounts_saves
        )
        try:
            read(CONTACTS)
        except BaseException:
            other.exception()  # wait for it; this lane's error is the one reported
            raise
        other.result()


def _with_own_connection(function, *args) -> None:
    """Run ``function`` in this thread, closing the database connection it opened here."""
    try:
        function(*args)
    finally:
        db.connections.close_all()


def _crm_choices_fill(*, connection: CrmConnection, client: DynamicsClient) -> None:
    """Store the org's choices CRM Settings offers when none are (a connection saved before they
    were), with the run's client, after the run: they are not part of its outcome."""
    if connection.choices_read_at is not None:
        return
    try:
        crm_choices_refresh(connection=connection, client=client)
    except CrmProblem:
        # Recorded on the connection, so CRM Settings shows it; the daily refresh and the next
        # run try again.
        logger.info("Contract %s: the CRM's choices could not be read", connection.contract_id)


def sync_run_execute(*, run: SyncRun, client: DynamicsClient | None = None) -> SyncRun:
    """Carry a run this worker has claimed to its end; the outcome is recorded, never raised.

    ``client`` is for tests and the benchmark; normally the contract's connection opens one.
    A CRM failure ends the run as failed with the error's kind (CRM Settings shows the seed's
    message and next step) and is remembered on the connection; the cursors keep the last page,
    so the next run goes on from there. A follow-up run is enqueued when a trigger was merged
    into this one while it was already deciding saves. The outcome counts towards auto-pause
    (``_pause_count``).
    """
    contract = run.contract
    connection = crm_connection_get(contract=contract)
    with ExitStack() as stack:
        stack.enter_context(log_context(contract_id=run.contract_id, run_id=run.pk))
        recorder = RunRecorder(
            run=run, requests_sent=lambda: client.stats.requests if client else 0
        )
        try:
            if connection is None:
                raise _Disconnected()
            if client is None:
                # Inside the try: opening reads the stored sign-in and checks the stored
                # environment URL; either can fail (an AuthError) like any request to the CRM.
                client = stack.enter_context(open_client(connection))
            _import(run=run, client=client, recorder=recorder)
        except RunLost:
            logger.warning("Sync run %s was taken over by another worker; stopping.", run.pk)
            return run
        except _Disconnected:
            rerun = recorder.finish(
                state=SyncRun.State.FAILED,
                error_detail="The contract was disconnected from the CRM; the sync stopped.",
            )
        except DynamicsError as error:
            logger.info("Sync run %s failed: %s", run.pk, error)
            connection_record_error(connection=connection, error=error)
            rerun = recorder.finish(
                state=SyncRun.State.FAILED, error_kind=error_kind(error), error_detail=str(error)
            )
            if isinstance(error, Throttled) and error.retry_at is not None:
                # Dynamics asked for a longer wait than the run could afford: go on after it,
                # from the last page read (the cursors kept it).
                sync_enqueue_after(contract=contract, trigger=run.trigger, at=error.retry_at)
        except Exception as error:
            logger.exception("Sync run %s failed unexpectedly", run.pk)
            rerun = recorder.finish(
                state=SyncRun.State.FAILED,
                error_kind="internal",
                error_detail=f"{type(error).__name__}: {error}",
            )
        else:
            connection_clear_error(connection=connection)
            rerun = recorder.finish(
                state=SyncRun.State.SUCCEEDED, **mirror_match_totals(contract=contract)
            )
            _crm_choices_fill(connection=connection, client=client)
    _pause_count(run)
    if rerun:
        sync_enqueue(contract_id=contract.pk, trigger=SyncRun.Trigger.RERUN)
    return run


def _pause_count(run: SyncRun) -> None:
    """Count a finished run towards auto-pause (``crm_settings.pausing``): a failure adds one to
    the failures in a row, and may pause the sync; a success starts the count again."""
    if run.state == SyncRun.State.SUCCEEDED:
        pause_success_record(contract_id=run.contract_id, part=AutoPause.Part.SYNC)
    elif run.state == SyncRun.State.FAILED:
        pause_failure_record(
            contract_id=run.contract_id,
            part=AutoPause.Part.SYNC,
            kind=run.error_kind,
            detail=run.error_detail,
        )
