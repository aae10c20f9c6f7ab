"""django-q2 tasks of the import. Thin: they take ids, re-fetch, and call ``sync.services``.

Both are safe to run twice or at the same time: a second ``sync_run`` for a contract merges into
the active run (the database allows one), and ``sync_due_contracts`` only enqueues.

Both leave Dynamics alone while its API budget says so (``crm_settings.budget``): nothing before
a Retry-After ends, and no scheduled import while less than ``DYNAMICS_BUDGET_RESERVE`` percent
is left.

An import holds one of its contract's worker slots (``crm_settings.slots``) while it runs: when
the contract's work already holds ``Q_MAX_WORKERS_PER_CONTRACT`` workers, the task steps aside
(its run stays queued) and is started again, for that run, when a slot frees.
"""

import logging
from contextlib import nullcontext

from crm_settings.budget import budget_wait
from crm_settings.models import AutoPause, CrmConnection
from crm_settings.pausing import pause_get
from crm_settings.slots import worker_slot
from seats.models import Contract
from sync.models import SyncRun
from sync.runs import sync_run_claim, sync_run_held, sync_run_request
from sync.selectors import contracts_due_for_sync
from sync.services import sync_enqueue, sync_enqueue_after, sync_run_execute

logger = logging.getLogger(__name__)

# The tasks by name, as the queue and the schedules call them: enqueue with these, not a literal.
SYNC_RUN = "sync.tasks.sync_run"
SYNC_DUE_CONTRACTS = "sync.tasks.sync_due_contracts"


def sync_run(contract_id: int, trigger: str, full: bool = False, run_id: int | None = None) -> str:
    """Import for one contract: create or join its active run and, if this worker gets it, run it.

    Returns quietly when the contract is gone or not connected, and when another worker holds the
    run (the request was merged into it). A run whose worker died is taken over and resumed.
    While the API budget says wait, the task is started again when it may go on (a run already
    asked for stays queued until then).
    Nothing runs while the contract's sync is paused after failing too often in a row: *Resume
    sync* on CRM Settings starts the next run.
    While the contract's worker slots are all taken (``crm_settings.slots``), the run stays
    queued and the task is started again with ``run_id`` when one frees: then it carries on that
    run only, so a request is never imported twice.
    """
    return _sync_run(contract_id, trigger, full, run_id=run_id, fair=True)


def sync_run_here(contract_id: int, trigger: str, full: bool = False) -> str:
    """``sync_run`` in the calling process (``manage.py sync_now``), outside the workers' fair
    share: a person running it in the foreground waits for nobody's slot."""
    return _sync_run(contract_id, trigger, full, run_id=None, fair=False)


def _sync_run(contract_id: int, trigger: str, full: bool, *, run_id: int | None, fair: bool) -> str:
    contract = Contract.objects.filter(pk=contract_id).first()
    connection = CrmConnection.objects.filter(contract_id=contract_id).first()
    if contract is None or connection is None:
        return "not connected"
    if pause_get(contract_id=contract_id, part=AutoPause.Part.SYNC) is not None:
        return "paused after failures in a row"
    # The reserve is for scheduled runs; one a person asked for only waits out a Retry-After.
    wait = budget_wait(connection=connection, reserve=trigger == SyncRun.Trigger.SCHEDULE)
    if wait is not None:
        sync_enqueue_after(contract=contract, trigger=trigger, full=full, at=wait)
        return f"waiting for the API budget until {wait.isoformat()}"
    if run_id is None:
        run, _ = sync_run_request(contract=contract, trigger=trigger, full=full)
    else:
        run = SyncRun.objects.filter(
            pk=run_id, contract=contract, state__in=SyncRun.ACTIVE_STATES
        ).first()
        if run is None:
            return f"run {run_id} already ran"
    if sync_run_held(run=run):
        return f"merged into run {run.pk}"
    args = (contract_id, trigger, full, run.pk)
    slot = worker_slot(contract_id=contract_id, func=SYNC_RUN, args=args) if fair else None
    with slot or nullcontext(True) as held:
        if not held:
            return f"run {run.pk} waits for a worker"
        if not sync_run_claim(run=run):
            return f"merged into run {run.pk}"
        sync_run_execute(run=run)
    return f"run {run.pk} {run.state}"


def sync_due_contracts() -> list[int]:
    """The schedule's minute tick: enqueue an import for every connected contract that is due.

    Due: no run for ``sync_interval_minutes``, or an active run whose worker died (its heartbeat
    is stale), which the task then resumes. A due contract whose API budget says wait is left
    for a later tick. Returns the contract ids enqueued.
    """
    due = contracts_due_for_sync()
    connections = CrmConnection.objects.filter(contract_id__in=due)
    by_contract = {connection.contract_id: connection for connection in connections}
    enqueued = []
    for contract_id in due:
        connection = by_contract.get(contract_id)
        wait = budget_wait(connection=connection) if connection is not None else None
        if wait is not None:
            logger.info(
                "Scheduled sync of contract %s waits for the API budget until %s", contract_id, wait
            )
            continue
        sync_enqueue(contract_id=contract_id, trigger=SyncRun.Trigger.SCHEDULE)
        enqueued.append(contract_id)
    return enqueued
