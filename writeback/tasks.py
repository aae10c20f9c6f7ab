"""Background tasks that move the writeback outbox.

Each drain counts towards writeback's auto-pause (``crm_settings.pausing``): one that cannot
reach the CRM is a failure, one that delivered a success. While writeback is paused, nothing is
claimed: the items wait in the outbox until an admin selects *Resume writeback*.
"""

import logging
from contextlib import ExitStack

from django_q.tasks import async_task

from crm_settings.connect import connection_record_error
from crm_settings.crm import open_client
from crm_settings.models import AutoPause
from crm_settings.pausing import pause_failure_record, pause_get, pause_success_record
from crm_settings.selectors import crm_connection_get
from dynamics import DynamicsError
from seats.models import Contract
from writeback.delivery import DeliveryRun, deliver
from writeback.outbox import CLAIM_BATCH, outbox_claim_due, outbox_due_contract_ids

logger = logging.getLogger(__name__)


def drain_outbox(contract_id: int, batch_size: int = CLAIM_BATCH) -> int:
    """Deliver the contract's due outbox entries, ``batch_size`` at a time (one ``$batch`` each,
    per seat when impersonating), until none is due; returns how many were taken.

    Safe to run twice or concurrently: each claim takes entries no other worker holds. Without a
    CRM connection, or while writeback is paused, nothing is claimed, so items stay queued until
    the contract connects or an admin resumes. One client serves the whole run (one sign-in,
    kept-alive connections, lookups remembered).
    """
    contract = Contract.objects.filter(pk=contract_id).first()
    if contract is None:
        return 0
    connection = crm_connection_get(contract=contract)
    if connection is None:
        return 0
    if pause_get(contract_id=contract_id, part=AutoPause.Part.WRITEBACK) is not None:
        return 0
    taken = 0
    with ExitStack() as stack:
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
        # Each claim moves what it takes out of "due" (an outcome, or the lease), so this ends.
        while not run.halted and (
            entries := outbox_claim_due(
                contract=contract, limit=batch_size, waiting_types=run.waiting_types
            )
        ):
            taken += len(entries)
            deliver(run=run, entries=entries)
    _pause_count(contract_id=contract_id, failure=run.halt_error, taken=taken)
    return taken


def _pause_count(*, contract_id: int, failure: DynamicsError | None, taken: int) -> None:
    """Count a drain towards writeback's auto-pause: ``failure`` (the CRM out of reach, or the
    sign-in gone) adds one to the failures in a row, and may pause writeback; a drain that took
    items without one starts the count again. A drain with nothing due counts for neither."""
    if failure is not None:
        pause_failure_record(
            contract_id=contract_id,
            part=AutoPause.Part.WRITEBACK,
            kind=failure.kind,
            detail=str(failure),
        )
    elif taken:
        pause_success_record(contract_id=contract_id, part=AutoPause.Part.WRITEBACK)


def drain_due_outboxes() -> int:
    """Start a drain for every connected contract with due entries; returns how many.

    Runs every minute: it picks up retries whose time has come, entries whose worker died, and
    items queued before their contract connected.
    """
    contract_ids = outbox_due_contract_ids()
    for contract_id in contract_ids:
        async_task("writeback.tasks.drain_outbox", contract_id)
    return len(contract_ids)
