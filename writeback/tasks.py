"""Background tasks that move the writeback outbox.

Both leave Dynamics alone while the connection's API budget says wait (``crm_settings.budget``):
before a Retry-After ends, or while less than ``DYNAMICS_BUDGET_RESERVE`` percent is left; a
drain that stops for it is started again when it may go on.

Each drain also counts towards writeback's auto-pause (``crm_settings.pausing``): one that cannot
reach the CRM is a failure, one that delivered a success. While writeback is paused, nothing is
claimed: the items wait in the outbox until an admin selects *Resume writeback*.

A drain holds one of its contract's worker slots (``crm_settings.slots``) while it runs: when the
contract's work already holds ``Q_MAX_WORKERS_PER_CONTRACT`` workers (its import, another
drain), the task steps aside and is started again when a slot frees; the contract's drain stays
requested (``OutboxDrain``) meanwhile, so saving more items enqueues nothing more.
"""

import logging
from contextlib import ExitStack

from django_q.tasks import async_task

from config.logs import log_context
from crm_settings.budget import budget_wait, budget_wait_live, task_enqueue_after
from crm_settings.connect import connection_record_error
from crm_settings.crm import open_client
from crm_settings.messages import error_kind
from crm_settings.models import AutoPause, CrmConnection
from crm_settings.pausing import pause_failure_record, pause_get, pause_success_record
from crm_settings.selectors import crm_connection_get
from crm_settings.slots import worker_slot
from dynamics import DynamicsError
from seats.models import Contract
from writeback.delivery import DeliveryRun, deliver
from writeback.outbox import (
    CLAIM_BATCH,
    LeaseKeeper,
    outbox_claim_due,
    outbox_drain_request,
    outbox_drain_started,
    outbox_due_contract_ids,
)

logger = logging.getLogger(__name__)

# The tasks by name, as the queue and the schedules call them: enqueue with these, not a literal.
DRAIN_OUTBOX = "writeback.tasks.drain_outbox"
DRAIN_DUE_OUTBOXES = "writeback.tasks.drain_due_outboxes"


def _drain_after(contract_id: int, at) -> None:
    logger.info("Writeback for contract %s waits for the API budget until %s", contract_id, at)
    task_enqueue_after(
        name=f"budget: writeback of contract {contract_id}",
        func=DRAIN_OUTBOX,
        args=(contract_id,),
        at=at,
    )


def drain_outbox(contract_id: int, batch_size: int = CLAIM_BATCH) -> int:
    """The drain task: ``drain_outbox_here`` in one of the contract's worker slots; 0 (nothing
    taken) when they are all held, the task then being started again when one frees."""
    if not Contract.objects.filter(pk=contract_id).exists():
        return 0
    with worker_slot(
        contract_id=contract_id, func=DRAIN_OUTBOX, args=(contract_id, batch_size)
    ) as held:
        return drain_outbox_here(contract_id, batch_size=batch_size) if held else 0


def drain_outbox_here(contract_id: int, batch_size: int = CLAIM_BATCH) -> int:
    """Deliver the contract's due outbox entries, ``batch_size`` at a time (one ``$batch`` each,
    per seat when impersonating), until none is due; returns how many were taken.

    Safe to run twice or concurrently: each claim takes entries no other worker holds. Without a
    CRM connection, or while writeback is paused, nothing is claimed, so items stay queued until
    the contract connects or an admin resumes. One client serves the whole run (one sign-in,
    kept-alive connections, lookups remembered), and the claims' leases are renewed while each
    batch is delivered. ``manage.py drain_outbox`` calls it directly, in the foreground,
    waiting for nobody's worker slot.
    """
    # First of all: an item saved from now on may come after this drain's last claim, so it asks
    # for a follow-up drain instead of counting on this one.
    outbox_drain_started(contract_id=contract_id)
    contract = Contract.objects.filter(pk=contract_id).first()
    if contract is None:
        return 0
    connection = crm_connection_get(contract=contract)
    if connection is None:
        return 0
    if pause_get(contract_id=contract_id, part=AutoPause.Part.WRITEBACK) is not None:
        return 0
    if (wait := budget_wait(connection=connection)) is not None:
        _drain_after(contract_id, wait)
        return 0
    taken = 0
    wait = None
    with ExitStack() as stack:
        stack.enter_context(log_context(contract_id=contract_id))
        try:
            client = stack.enter_context(open_client(connection))
        except DynamicsError as error:
            # The stored connection cannot be used (no key reads the sign-in, or the client
            # refuses the stored environment URL): nothing is claimed, so every item stays
            # queued, and CRM Settings shows the error until an admin connects again.
            logger.warning("Writeback for contract %s paused: %s", contract_id, error)
            connection_record_error(connection=connection, error=error)
            _pause_count(contract_id=contract_id, failure=error, taken=0)
            return 0
        run = DeliveryRun(connection=connection, client=client)
        leases = stack.enter_context(LeaseKeeper())
        # Each claim moves what it takes out of "due" (an outcome, or the lease), so this ends.
        while True:
            # Between claims: a drain that used up the reserve, or was told to wait, stops.
            wait = budget_wait_live(connection=connection, reading=client.budget.reading())
            if run.halted or wait is not None:
                break
            entries = outbox_claim_due(
                contract=contract, limit=batch_size, waiting_types=run.waiting_types
            )
            if not entries:
                break
            taken += len(entries)
            with leases.keep(entries):
                deliver(run=run, entries=entries)
    _pause_count(contract_id=contract_id, failure=run.halt_error, taken=taken)
    if wait is not None:
        _drain_after(contract_id, wait)
    return taken


def _pause_count(*, contract_id: int, failure: DynamicsError | None, taken: int) -> None:
    """Count a drain towards writeback's auto-pause: ``failure`` (the CRM out of reach, or the
    sign-in gone) adds one to the failures in a row, and may pause writeback; a drain that took
    items without one starts the count again. A drain with nothing due counts for neither, and
    so does being told to wait (``error_kind`` names it, and the pause does not count it)."""
    if failure is not None:
        pause_failure_record(
            contract_id=contract_id,
            part=AutoPause.Part.WRITEBACK,
            kind=error_kind(failure),
            detail=str(failure),
        )
    elif taken:
        pause_success_record(contract_id=contract_id, part=AutoPause.Part.WRITEBACK)


def drain_due_outboxes() -> int:
    """Start a drain for every connected contract with due entries; returns how many.

    Runs every minute: it picks up retries whose time has come, entries whose worker died, and
    items queued before their contract connected. Contracts whose API budget says wait are left
    for a later minute, and a contract whose drain already waits for a worker gets no second one.
    """
    contract_ids = outbox_due_contract_ids()
    waiting = {
        connection.contract_id
        for connection in CrmConnection.objects.filter(contract_id__in=contract_ids)
        if budget_wait(connection=connection) is not None
    }
    started = 0
    for contract_id in contract_ids:
        if contract_id not in waiting and outbox_drain_request(contract_id=contract_id):
            async_task(DRAIN_OUTBOX, contract_id)
            started += 1
    return started
