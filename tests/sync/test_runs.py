"""One run per contract, merged requests, claims, takeover of a dead worker's run, the schedule."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm_settings.models import CrmSettings
from portal.schedules import SCHEDULES
from sync.models import SyncRun
from sync.runs import (
    SAVES_PHASE,
    RunLost,
    RunRecorder,
    sync_run_checkpoint,
    sync_run_claim,
    sync_run_request,
)
from sync.selectors import contracts_due_for_sync
from sync.tasks import SYNC_DUE_CONTRACTS, SYNC_RUN, sync_due_contracts, sync_run
from tests.factories import CrmConnectionFactory, SyncRunFactory

pytestmark = pytest.mark.django_db


def test_the_database_allows_one_active_run_per_contract(contract):
    SyncRunFactory(contract=contract, state=SyncRun.State.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncRunFactory(contract=contract, state=SyncRun.State.QUEUED)
    SyncRunFactory(contract=contract, state=SyncRun.State.SUCCEEDED)


def test_a_second_request_is_merged_into_the_active_run(contract):
    first, created = sync_run_request(contract=contract, trigger=SyncRun.Trigger.CONNECT)
    second, created_again = sync_run_request(contract=contract, trigger=SyncRun.Trigger.MANUAL)
    assert created and not created_again
    assert second.pk == first.pk
    assert SyncRun.objects.count() == 1
    assert not SyncRun.objects.get().rerun_requested


def test_a_request_while_saves_are_decided_asks_for_a_follow_up(contract):
    SyncRunFactory(contract=contract, state=SyncRun.State.RUNNING, phase=SAVES_PHASE)
    sync_run_request(contract=contract, trigger=SyncRun.Trigger.SETTINGS)
    assert SyncRun.objects.get().rerun_requested


def test_a_request_for_a_full_read_upgrades_a_queued_run(contract):
    sync_run_request(contract=contract, trigger=SyncRun.Trigger.SCHEDULE)
    sync_run_request(contract=contract, trigger=SyncRun.Trigger.MANUAL, full=True)
    assert SyncRun.objects.get().full


def test_only_one_worker_claims_a_run(contract):
    run, _ = sync_run_request(contract=contract, trigger=SyncRun.Trigger.MANUAL)
    other = SyncRun.objects.get(pk=run.pk)
    assert sync_run_claim(run=run)
    assert not sync_run_claim(run=other)
    assert run.state == SyncRun.State.RUNNING and run.worker


def test_a_run_whose_worker_died_is_taken_over(contract, settings):
    settings.SYNC_STALE_SECONDS = 300
    run, _ = sync_run_request(contract=contract, trigger=SyncRun.Trigger.MANUAL)
    assert sync_run_claim(run=run)
    late = SyncRun.objects.get(pk=run.pk)
    assert not sync_run_claim(run=late)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert sync_run_claim(run=late)
    assert late.resumes == 1 and late.worker != run.worker
    # The first worker, still alive after all, loses its next checkpoint.
    with pytest.raises(RunLost):
        sync_run_checkpoint(run=run, phase="contact")


def test_a_recorder_adds_counts_and_requests_across_checkpoints(contract):
    run, _ = sync_run_request(contract=contract, trigger=SyncRun.Trigger.MANUAL)
    sync_run_claim(run=run)
    sent = iter([0, 3, 5, 5])
    recorder = RunRecorder(run=run, requests_sent=lambda: next(sent))
    recorder.checkpoint(table="contact", add={"read": 10, "created": 10}, note="full read")
    recorder.checkpoint(table="contact", add={"read": 5, "created": 1, "updated": 4})
    run.refresh_from_db()
    assert run.counts == {"contact": {"read": 15, "created": 11, "updated": 4, "how": "full read"}}
    assert run.requests == 5
    assert recorder.finish(state=SyncRun.State.SUCCEEDED) is False
    run.refresh_from_db()
    assert run.state == SyncRun.State.SUCCEEDED and run.finished_at


def test_the_task_returns_quietly_for_a_contract_that_is_not_connected(contract):
    assert sync_run(contract.pk, SyncRun.Trigger.SCHEDULE) == "not connected"
    assert sync_run(987654, SyncRun.Trigger.SCHEDULE) == "not connected"
    assert not SyncRun.objects.exists()


def test_the_task_merges_into_a_run_another_worker_holds(contract):
    CrmConnectionFactory(contract=contract)
    run = SyncRunFactory(
        contract=contract, state=SyncRun.State.RUNNING, heartbeat_at=timezone.now()
    )
    assert sync_run(contract.pk, SyncRun.Trigger.MANUAL) == f"merged into run {run.pk}"
    assert SyncRun.objects.count() == 1


class TestSchedule:
    def test_it_is_declared(self):
        assert any(spec.func == SYNC_DUE_CONTRACTS for spec in SCHEDULES)

    def test_a_connected_contract_without_runs_is_due(self, contract, outsider):
        CrmConnectionFactory(contract=contract)
        assert contracts_due_for_sync() == [contract.pk]

    def test_a_contract_is_due_after_its_interval(self, contract):
        CrmConnectionFactory(contract=contract)
        CrmSettings.objects.create(contract=contract, sync_interval_minutes=30)
        SyncRunFactory(contract=contract)
        now = timezone.now()
        assert contracts_due_for_sync(now=now + timedelta(minutes=29)) == []
        assert contracts_due_for_sync(now=now + timedelta(minutes=31)) == [contract.pk]

    def test_an_active_run_is_not_doubled_unless_its_worker_died(self, contract, settings):
        settings.SYNC_STALE_SECONDS = 300
        CrmConnectionFactory(contract=contract)
        SyncRunFactory(contract=contract, state=SyncRun.State.RUNNING, heartbeat_at=timezone.now())
        assert contracts_due_for_sync() == []
        with time_machine.travel(timezone.now() + timedelta(minutes=6)):
            assert contracts_due_for_sync() == [contract.pk]

    def test_the_tick_enqueues_the_due_contracts(
        self, contract, monkeypatch, django_capture_on_commit_callbacks
    ):
        CrmConnectionFactory(contract=contract)
        enqueued = []
        monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: enqueued.append(args))
        # A worker runs the tick outside any transaction, so the import is queued at once; here
        # the test's own transaction holds it until its callbacks run.
        with django_capture_on_commit_callbacks(execute=True):
            assert sync_due_contracts() == [contract.pk]
        assert enqueued == [(SYNC_RUN, contract.pk, SyncRun.Trigger.SCHEDULE)]
