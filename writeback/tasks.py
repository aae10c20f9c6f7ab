"""Background tasks that move the writeback outbox."""

from django_q.tasks import async_task

from crm_settings.selectors import crm_connection_get
from seats.models import Contract
from writeback.delivery import deliver
from writeback.outbox import outbox_claim_due, outbox_due_contract_ids


def drain_outbox(contract_id: int) -> int:
    """Deliver the contract's due outbox entries, a batch at a time; returns how many were taken.

    Safe to run twice or concurrently: each claim takes entries no other worker holds. Without a
    CRM connection nothing is claimed, so items stay queued until the contract connects.
    """
    contract = Contract.objects.filter(pk=contract_id).first()
    if contract is None:
        return 0
    connection = crm_connection_get(contract=contract)
    if connection is None:
        return 0
    taken = 0
    # Each claim moves what it takes out of "due" (the lease), so this loop ends.
    while entries := outbox_claim_due(contract=contract):
        taken += len(entries)
        deliver(connection=connection, entries=entries)
    return taken


def drain_due_outboxes() -> int:
    """Start a drain for every connected contract with due entries; returns how many.

    Runs every minute: it picks up retries whose time has come, entries whose worker died, and
    items queued before their contract connected.
    """
    contract_ids = outbox_due_contract_ids()
    for contract_id in contract_ids:
        async_task("writeback.tasks.drain_outbox", contract_id)
    return len(contract_ids)
