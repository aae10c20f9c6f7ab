"""Fair scheduling of the import (``crm_settings.slots``): while the contract's work holds its
worker (``Q_MAX_WORKERS_PER_CONTRACT``, 1 here), an import task steps aside with its run queued,
and the run is imported once when the worker frees, however many triggers came meanwhile.

Tasks run inline in the test settings: freeing the slot runs the waiting task at once.
"""

import pytest

from crm_settings.models import SlotWaiter
from crm_settings.slots import worker_slot
from sync.models import SyncRun
from sync.tasks import SYNC_RUN, sync_run, sync_run_here

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]


def test_an_import_waits_for_its_contracts_worker_and_then_runs_once(connected, crm):
    """GIVEN the contract's writeback drain holding its only worker
    WHEN *Sync now* and the schedule both ask for an import
    THEN neither task works: one queued run, one waiter naming it
    AND once the drain ends, that run is imported, once, and no second run follows."""
    contract = connected
    with worker_slot(contract_id=contract.pk, func="writeback.tasks.drain_outbox", args=()):
        crm.reset_stats()
        assert sync_run(contract.pk, SyncRun.Trigger.MANUAL).endswith("waits for a worker")
        assert sync_run(contract.pk, SyncRun.Trigger.SCHEDULE).endswith("waits for a worker")
        [run] = SyncRun.objects.filter(contract=contract)
        assert run.state == SyncRun.State.QUEUED
        [waiter] = SlotWaiter.objects.filter(contract=contract)
        assert (waiter.func, waiter.args[-1]) == (SYNC_RUN, run.pk)
        assert crm.stats()["by_kind"].get("api", 0) == 0
    [run] = SyncRun.objects.filter(contract=contract)
    assert run.state == SyncRun.State.SUCCEEDED
    assert run.trigger == SyncRun.Trigger.MANUAL
    assert not SlotWaiter.objects.exists()
    # Started again for a run that already ran (a late duplicate), the task imports nothing.
    late = sync_run(contract.pk, SyncRun.Trigger.MANUAL, False, run.pk)
    assert late == f"run {run.pk} already ran"
    assert SyncRun.objects.filter(contract=contract).count() == 1


def test_sync_now_in_the_foreground_waits_for_no_slot(connected):
    with worker_slot(contract_id=connected.pk, func="writeback.tasks.drain_outbox", args=()):
        assert sync_run_here(connected.pk, SyncRun.Trigger.MANUAL).endswith("succeeded")
