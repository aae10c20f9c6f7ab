"""django-q2 tasks of the import. Thin: they take ids, re-fetch, and call ``sync.services``.

Both are safe to run twice or at the same time: a second ``sync_run`` for a contract merges into
the active run (the database allows one), and ``sync_due_contracts`` only enqueues.
"""

from django_q.tasks import async_task

from crm_settings.models import AutoPause, CrmConnection
from crm_settings.pausing import pause_get
from seats.models import Contract
from sync.models import SyncRun
from sync.runs import sync_run_claim, sync_run_request
from sync.selectors import contracts_due_for_sync
from sync.services import sync_run_execute


def sync_run(contract_id: int, trigger: str, full: bool = False) -> str:
    """Import for one contract: create or join its active run and, if this worker gets it, run it.

    Returns quietly when the contract is gone or not connected, and when another worker holds the
    run (the request was merged into it). A run whose worker died is taken over and resumed.
    Nothing runs while the contract's sync is paused after failing too often in a row: *Resume
    sync* on CRM Settings starts the next run.
    """
    contract = Contract.objects.filter(pk=contract_id).first()
    if contract is None or not CrmConnection.objects.filter(contract=contract).exists():
        return "not connected"
    if pause_get(contract_id=contract_id, part=AutoPause.Part.SYNC) is not None:
        return "paused after failures in a row"
    run, _ = sync_run_request(contract=contract, trigger=trigger, full=full)
    if not sync_run_claim(run=run):
        return f"merged into run {run.pk}"
    sync_run_execute(run=run)
    return f"run {run.pk} {run.state}"


def sync_due_contracts() -> list[int]:
    """The schedule's minute tick: enqueue an import for every connected contract that is due.

    Due: no run for ``sync_interval_minutes``, or an active run whose worker died (its heartbeat
    is stale), which the task then resumes. Returns the contract ids enqueued.
    """
    due = contracts_due_for_sync()
    for contract_id in due:
        async_task(
            "sync.tasks.sync_run", contract_id, SyncRun.Trigger.SCHEDULE, task_name="sync-schedule"
        )
    return due
