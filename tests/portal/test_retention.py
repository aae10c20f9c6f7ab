"""Retention: old sync runs (with their problems), audit entries and task results are pruned in
batches, by the hourly schedule, and the runs CRM Settings shows are kept."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule, Task

from crm_settings.models import ApiUsage
from portal.retention import retention_prune, task_results_prune
from portal.schedules import SCHEDULES, install_schedules
from portal.tasks import HEARTBEAT, PRUNE_OLD_RECORDS
from seats.models import AuditEntry
from seats.retention import audit_entries_prune
from sync.models import SyncProblem, SyncRun
from sync.runs import sync_runs_prune
from sync.selectors import sync_status
from tests.factories import ContractFactory, SyncRunFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
OK, FAILED, RUNNING = SyncRun.State.SUCCEEDED, SyncRun.State.FAILED, SyncRun.State.RUNNING


def _run(contract, state, *, days_ago: int, problems: int = 0) -> SyncRun:
    at = NOW - timedelta(days=days_ago)
    finished = None if state == RUNNING else at
    run = SyncRunFactory(contract=contract, state=state, started_at=at, finished_at=finished)
    SyncRun.objects.filter(pk=run.pk).update(created_at=at)
    SyncProblem.objects.bulk_create(
        SyncProblem(run=run, table="contact", reason=f"bad row {n}") for n in range(problems)
    )
    return run


def _shown(contract) -> tuple:
    status = sync_status(contract=contract)
    return status.active, status.last_finished, status.last_success


def _left(*runs) -> set[int]:
    return set(SyncRun.objects.filter(pk__in=[r.pk for r in runs]).values_list("pk", flat=True))


def test_old_runs_go_with_their_problems_but_crm_settings_still_shows_the_same(contract):
    """GIVEN a contract whose last success is old and whose last run failed recently, one whose
    every run is old, and one with a stale active run
    WHEN runs finished over 90 days ago are pruned
    THEN each keeps its active run, its last finished and its last successful run (CRM Settings
    shows the same), and every other old run goes, its problems first."""
    first = _run(contract, OK, days_ago=200, problems=3)
    old_failure = _run(contract, FAILED, days_ago=150)
    last_success = _run(contract, OK, days_ago=120, problems=2)
    failed_after_it = _run(contract, FAILED, days_ago=100, problems=4)
    recent = _run(contract, FAILED, days_ago=10)
    dormant = ContractFactory()
    dormant_success = _run(dormant, OK, days_ago=300)
    dormant_failure = _run(dormant, FAILED, days_ago=200)
    stuck = ContractFactory()
    stuck_success = _run(stuck, OK, days_ago=250)
    stuck_active = _run(stuck, RUNNING, days_ago=200)
    shown = {c.pk: _shown(c) for c in (contract, dormant, stuck)}

    assert sync_runs_prune(before=NOW - timedelta(days=90)) == 3

    assert _left(first, old_failure, last_success, failed_after_it, recent) == _left(
        last_success, recent
    ) == {last_success.pk, recent.pk}  # fmt: skip
    assert _left(dormant_success, dormant_failure, stuck_success, stuck_active) == {
        dormant_success.pk, dormant_failure.pk, stuck_success.pk, stuck_active.pk,
    }  # fmt: skip
    assert {c.pk: _shown(c) for c in (contract, dormant, stuck)} == shown
    assert set(SyncProblem.objects.values_list("run_id", flat=True)) == {last_success.pk}


def _queries(function, **kwargs) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        deleted = function(**kwargs)
    return deleted, len(queries)


@pytest.mark.parametrize("runs", [25, 45])
def test_runs_are_deleted_in_batches_of_a_fixed_number_of_queries(contract, runs):
    for n in range(runs):
        _run(contract, FAILED, days_ago=100 + n, problems=2)
    _run(contract, OK, days_ago=1)

    deleted, queries = _queries(sync_runs_prune, before=NOW - timedelta(days=90), batch_size=10)

    assert deleted == runs
    assert not SyncProblem.objects.exists()
    problem_batches, run_batches = -(-2 * runs // 10), -(-runs // 10)
    # Problems: the next ids, then one DELETE, per batch. Runs: the next ids, then Django's
    # delete (the rows, their problems (none left), the runs). Each kind ends on an empty look.
    assert queries == (2 * problem_batches + 1) + (4 * run_batches + 1)


@pytest.mark.parametrize("old", [25, 45])
def test_audit_entries_past_their_age_are_deleted_two_queries_a_batch(contract, old):
    AuditEntry.objects.bulk_create(
        AuditEntry(contract=contract, action="seat.created") for _ in range(old + 3)
    )
    keep = AuditEntry.objects.order_by("pk")[:3].values_list("pk", flat=True)
    AuditEntry.objects.exclude(pk__in=list(keep)).update(created_at=NOW - timedelta(days=400))

    deleted, queries = _queries(
        audit_entries_prune, before=NOW - timedelta(days=365), batch_size=10
    )

    assert deleted == old
    assert set(AuditEntry.objects.values_list("pk", flat=True)) == set(keep)
    assert queries == 2 * -(-old // 10) + 1


def _task(*, days_ago: int, success: bool = True) -> Task:
    at = NOW - timedelta(days=days_ago)
    return Task.objects.create(
        id=uuid.uuid4().hex,
        name=uuid.uuid4().hex,
        func=HEARTBEAT,
        started=at,
        stopped=at,
        success=success,
    )


def test_task_results_and_failures_past_their_age_are_deleted(db):
    old = [_task(days_ago=8), _task(days_ago=30, success=False)]
    recent = [_task(days_ago=1), _task(days_ago=2, success=False)]

    deleted, queries = _queries(task_results_prune, before=NOW - timedelta(days=7))

    assert deleted == len(old)
    assert set(Task.objects.values_list("id", flat=True)) == {t.id for t in recent}
    assert queries == 3


def test_the_settings_decide_each_age(contract, settings):
    settings.RETENTION_RUNS_DAYS = 30
    settings.RETENTION_AUDIT_DAYS = 60
    settings.RETENTION_TASKS_DAYS = 2
    _run(contract, FAILED, days_ago=40)
    _run(contract, FAILED, days_ago=20)
    _run(contract, OK, days_ago=10)
    entry = AuditEntry.objects.create(contract=contract, action="seat.created")
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=NOW - timedelta(days=61))
    _task(days_ago=3)
    _task(days_ago=1)

    ApiUsage.objects.bulk_create(
        ApiUsage(contract=contract, hour=NOW - timedelta(days=days, hours=1)) for days in (30, 29)
    )

    assert retention_prune(now=NOW) == {
        "sync runs": 1, "API usage hours": 1, "audit entries": 1, "task results": 1,
    }  # fmt: skip
    assert retention_prune(now=NOW) == {
        "sync runs": 0, "API usage hours": 0, "audit entries": 0, "task results": 0,
    }  # fmt: skip
    assert ApiUsage.objects.filter(contract=contract).count() == 1


def test_the_prune_is_scheduled_and_installed(db):
    [spec] = [s for s in SCHEDULES if s.func == PRUNE_OLD_RECORDS]
    install_schedules()
    schedule = Schedule.objects.get(name=spec.name)
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        PRUNE_OLD_RECORDS, Schedule.MINUTES, 60,
    )  # fmt: skip


def test_the_task_prunes(contract):
    from portal.tasks import prune_old_records

    _run(contract, FAILED, days_ago=100)
    _run(contract, OK, days_ago=1)
    assert prune_old_records()["sync runs"] == 1
