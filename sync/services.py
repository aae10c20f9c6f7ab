"""Running the import for a contract: asking for a run, and carrying a claimed run to its end.

Views (*Sync now*), tasks (the schedule, the connect and settings triggers) and the
``sync_now`` command all come through here. The steps of one run are in ``sync_run_execute``;
how each table is read is in ``sync.reading``, how saves are decided in ``sync.evaluate``.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace

from django import db
from django.conf import settings
from django.db import transaction

from crm_settings.connect import connection_clear_error, connection_record_error
from crm_settings.crm import open_client
from crm_settings.models import CrmConnection, CrmSettings
from crm_settings.selectors import crm_connection_get, crm_settings_get
from dynamics import DynamicsClient, DynamicsError
from seats.models import Contract
from sync.evaluate import saves_evaluate
from sync.mirror import (
    ACCOUNTS,
    CONTACTS,
    OPPORTUNITIES,
    TABLES,
    USERS,
    ReadContext,
    mirror_rematch,
)
from sync.models import CrmUser, SyncRun
from sync.reading import table_read
from sync.runs import SAVES_PHASE, RunLost, RunRecorder, sync_run_request
from sync.users import seat_mappings_refresh

logger = logging.getLogger(__name__)
# Reading the tables, then re-mapping seats and deciding saves.
PROGRESS_STEPS = len(TABLES) + 1


def sync_enqueue(*, contract: Contract, trigger: str, full: bool = False) -> None:
    """Start ``sync.tasks.sync_run`` for the contract once the current transaction commits."""
    from django_q.tasks import async_task

    contract_id = contract.pk
    transaction.on_commit(
        lambda: async_task(
            "sync.tasks.sync_run", contract_id, trigger, full, task_name=f"sync-{trigger}"
        )
    )


def sync_request(*, contract: Contract, trigger: str, full: bool = False) -> tuple[SyncRun, bool]:
    """Ask for an import now (*Sync now*): a queued run shown at once, or the active one.

    The run record exists before a worker picks it up, so CRM Settings shows it queued; a
    request while a run is active is merged into that run (``sync.runs``). The task is enqueued
    either way: when the active run's worker died, the task takes the run over. Returns (run,
    created).
    """
    run, created = sync_run_request(contract=contract, trigger=trigger, full=full)
    sync_enqueue(contract=contract, trigger=trigger, full=full)
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


def _import(*, run: SyncRun, client: DynamicsClient, recorder: RunRecorder) -> None:
    """The steps of one run, after the claim.

    1. Read the four tables into the mirror (``_read_tables``), each by full, delta, watermark
       or resumed read (``sync.reading``).
    2. Re-map seats to CRM users by email (users may have arrived, changed or gone).
    3. Match again unmatched rows when the network gained members or companies since the last
       successful run.
    4. Decide the saves from the mirror in SQL (``sync.evaluate``), with the settings as they are
       now: a settings change merged into this run is honoured here.
    """
    contract = run.contract
    context = _read_context(contract=contract, crm_settings=crm_settings_get(contract=contract))
    context = _read_tables(run=run, client=client, context=context, recorder=recorder)

    recorder.checkpoint(phase=SAVES_PHASE)
    seat_mappings_refresh(contract=contract)
    previous = _previous_success(run)
    if previous is not None:
        rematched = mirror_rematch(
            contract_id=contract.pk,
            network_changed_since=previous.started_at,
            profile_url_column=context.profile_url_column,
        )
        recorder.checkpoint(table="network", add={"rematched": rematched})
    if not CrmConnection.objects.filter(contract=contract).exists():
        raise _Disconnected()
    counts = saves_evaluate(contract=contract, crm_settings=crm_settings_get(contract=contract))
    recorder.checkpoint(table="saves", add=counts, progress_done=PROGRESS_STEPS)


# After the users: accounts before contacts (a contact is matched by its account's name), and
# opportunities, which need neither, alongside them.
LANES = ((ACCOUNTS, CONTACTS), (OPPORTUNITIES,))


def _read_tables(
    *, run: SyncRun, client: DynamicsClient, context: ReadContext, recorder: RunRecorder
) -> ReadContext:
    """Read the users, then the two lanes of ``LANES``; returns the context with the user ids.

    The lanes run at once when they can have a database connection each (PostgreSQL, outside a
    transaction): the import then overlaps one lane's database work with the other's download
    and conversion. Every page still commits with its own checkpoint, so a run killed at any
    moment resumes each table from its last page. When one lane fails, the other finishes its
    current table (its pages are kept) and the first failure is raised.
    """
    table_read(table=USERS, run=run, client=client, context=context, recorder=recorder)
    recorder.table_finished(of=PROGRESS_STEPS)
    known = CrmUser.objects.filter(contract=run.contract_id).values_list("crm_id", flat=True)
    context = replace(context, user_ids=frozenset(str(crm_id) for crm_id in known))

    def lane(tables) -> None:
        for table in tables:
            table_read(table=table, run=run, client=client, context=context, recorder=recorder)
            recorder.table_finished(of=PROGRESS_STEPS)

    parallel = (
        settings.SYNC_PARALLEL_READS
        and db.connection.vendor == "postgresql"
        and not db.connection.in_atomic_block
    )
    if not parallel:
        for tables in LANES:
            lane(tables)
        return context
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-lane") as pool:
        other = pool.submit(_with_own_connection, lane, LANES[1])
        try:
            lane(LANES[0])
        except BaseException:
            other.exception()  # wait for it; this lane's error is the one reported
            raise
        other.result()
    return context


def _with_own_connection(function, *args) -> None:
    """Run ``function`` in this thread, closing the database connection it opened here."""
    try:
        function(*args)
    finally:
        db.connections.close_all()


def sync_run_execute(*, run: SyncRun, client: DynamicsClient | None = None) -> SyncRun:
    """Carry a run this worker has claimed to its end; the outcome is recorded, never raised.

    ``client`` is for tests and the benchmark; normally the contract's connection opens one.
    A CRM failure ends the run as failed with the error's kind (CRM Settings shows the seed's
    message and next step) and is remembered on the connection; the cursors keep the last page,
    so the next run goes on from there. A follow-up run is enqueued when a trigger was merged
    into this one while it was already deciding saves.
    """
    contract = run.contract
    connection = crm_connection_get(contract=contract)
    with ExitStack() as stack:
        if client is None and connection is not None:
            client = stack.enter_context(open_client(connection))
        recorder = RunRecorder(
            run=run, requests_sent=lambda: client.stats.requests if client else 0
        )
        try:
            if connection is None:
                raise _Disconnected()
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
                state=SyncRun.State.FAILED, error_kind=error.kind, error_detail=str(error)
            )
        except Exception as error:
            logger.exception("Sync run %s failed unexpectedly", run.pk)
            rerun = recorder.finish(
                state=SyncRun.State.FAILED,
                error_kind="internal",
                error_detail=f"{type(error).__name__}: {error}",
            )
        else:
            connection_clear_error(connection=connection)
            rerun = recorder.finish(state=SyncRun.State.SUCCEEDED)
    if rerun:
        sync_enqueue(contract=contract, trigger=SyncRun.Trigger.RERUN)
    return run
