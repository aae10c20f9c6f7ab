"""A worker killed mid-run, and two triggers at once, against PostgreSQL and the emulator.

These tests commit for real (``transaction=True``): the worker is a separate process
(``manage.py sync_now``, no task queue) and the triggers run in separate threads, each with its
own database connection. SQLite's in-memory test database cannot be shared that way, so they run
where CI runs the suite: on PostgreSQL.
"""

import signal
import subprocess
import threading
import time

import pytest
from django.db import connection

from crm_settings.models import SlotWaiter
from network.models import SavedAccount, SavedLead
from sync.models import (
    CrmAccount,
    CrmContact,
    CrmOpportunity,
    CrmUser,
    SeatCrmUser,
    SyncCursor,
    SyncRun,
)
from sync.purge import imported_data_purge
from sync.tasks import sync_run
from tests.processes import manage, portal_env

pytestmark = [
    pytest.mark.emulator,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs a database other processes and threads can share (CI runs PostgreSQL)",
    ),
]
PAGE_SIZE = 50


@pytest.fixture(autouse=True)
def _small_pages_and_no_queue(settings, monkeypatch):
    """Pages of 50 rows, so a run has many; and no import started by the connect flow itself
    (committed for real here, its on-commit hook would run one inline)."""
    settings.DYNAMICS_PAGE_SIZE = PAGE_SIZE
    monkeypatch.setattr("crm_settings.connect.import_enqueue", lambda **kwargs: None)


def _state(contract) -> dict:
    """Everything an import decides, without ids and times that differ from run to run."""
    mirror = {
        "users": (CrmUser, ("crm_id", "email", "is_disabled")),
        "accounts": (CrmAccount, ("crm_id", "name", "company_id", "match_method")),
        "contacts": (CrmContact, ("crm_id", "email", "account_id", "member_id", "match_method")),
        "opportunities": (
            CrmOpportunity,
            ("crm_id", "owner_id", "state", "sales_stage", "account_id", "contact_id"),
        ),
    }
    state = {
        name: set(model.objects.filter(contract=contract).values_list(*fields))
        for name, (model, fields) in mirror.items()
    }
    for model, target in ((SavedAccount, "company_id"), (SavedLead, "member_id")):
        state[model.__name__] = set(
            model.objects.filter(seat__contract=contract).values_list(
                "seat_id", target, "from_crm", "saved_by_hand", "crm_record_id"
            )
        )
    state["links"] = set(
        SeatCrmUser.objects.filter(seat__contract=contract).values_list(
            "seat_id", "crm_user__crm_id"
        )
    )
    return state


def _reads(run: SyncRun) -> dict:
    return {table: counts["read"] for table, counts in run.table_counts()}


def _worker(crm, contract, tmp_path) -> subprocess.Popen:
    """``manage.py sync_now`` in its own process, on this test's database and emulator."""
    env = portal_env(
        crm,
        tmp_path,
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DYNAMICS_PAGE_SIZE=str(PAGE_SIZE),
    )
    return manage(["sync_now", str(contract.pk)], env)


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_killed_worker_resumes_to_the_same_end(connected, crm, settings, tmp_path):
    """GIVEN the end state of an uninterrupted import
    WHEN the same import runs in a worker process that is killed (SIGKILL) half-way through the
    contacts, and the next trigger comes after the run's heartbeat went stale
    THEN the next run takes the killed one over, goes on from its last page and ends with the
    same mirror, saves and counts as the uninterrupted import."""
    uninterrupted = SyncRun.objects.get(pk=int(sync_run(connected.pk, "manual").split()[1]))
    assert uninterrupted.state == SyncRun.State.SUCCEEDED
    expected = _state(connected)
    imported_data_purge(contract=connected)
    assert not CrmContact.objects.filter(contract=connected).exists()

    crm.set_faults(latency_ms=150)
    worker = _worker(crm, connected, tmp_path)
    contacts = SyncCursor.objects.filter(contract=connected, table="contact")
    _wait_for(lambda: contacts.exclude(next_link="").exists() or worker.poll() is not None)
    assert worker.poll() is None, worker.stdout.read().decode()
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    crm.reset_faults()
    killed = SyncRun.objects.filter(contract=connected).latest("created_at")
    assert killed.state == SyncRun.State.RUNNING
    assert 0 < killed.counts["contact"]["read"] < uninterrupted.counts["contact"]["read"]

    settings.SYNC_STALE_SECONDS = 1
    time.sleep(1.2)
    assert sync_run(connected.pk, "schedule") == f"run {killed.pk} succeeded"
    resumed = SyncRun.objects.get(pk=killed.pk)
    assert resumed.resumes == 1
    assert resumed.counts["contact"]["how"] == "full read, resumed from its last page"
    assert _reads(resumed) == _reads(uninterrupted)
    assert _state(connected) == expected


def test_two_triggers_at_once_run_one_sync(connected, crm):
    crm.set_faults(latency_ms=50)
    start = threading.Barrier(2)
    answers = []

    def trigger():
        try:
            start.wait()
            answers.append(sync_run(connected.pk, SyncRun.Trigger.MANUAL))
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    crm.reset_faults()
    run = SyncRun.objects.get(contract=connected)
    assert run.state == SyncRun.State.SUCCEEDED
    # The second trigger joined the run: it either saw the run held (merged), or found the
    # contract's one worker slot taken first and stepped aside as a waiter, which the first
    # freeing its slot started again and which then found the run already done.
    first, second = sorted(answers, key=lambda answer: answer != f"run {run.pk} succeeded")
    assert first == f"run {run.pk} succeeded"
    assert second in {f"merged into run {run.pk}", f"run {run.pk} waits for a worker"}
    assert not SlotWaiter.objects.filter(contract=connected).exists()


def test_reading_in_two_lanes_ends_like_reading_one_table_after_another(
    connected, crm, settings, monkeypatch
):
    """GIVEN PostgreSQL outside a transaction, where opportunities are read in a second thread
    alongside contacts, and the Accounts decided there
    THEN that run ends with the same mirror, saves and counts as one reading the tables one
    after another, and its request count is exact (the lanes share one client)."""
    import sync.services

    threads = {}
    read = sync.services.table_read

    def recording(*, table, **kwargs):
        threads[table.logical_name] = threading.current_thread().name
        return read(table=table, **kwargs)

    monkeypatch.setattr(sync.services, "table_read", recording)
    settings.SYNC_PARALLEL_READS = False
    one_by_one = SyncRun.objects.get(pk=int(sync_run(connected.pk, "manual").split()[1]))
    expected = _state(connected)
    assert len(set(threads.values())) == 1
    imported_data_purge(contract=connected)
    SyncCursor.objects.filter(contract=connected).delete()

    settings.SYNC_PARALLEL_READS = True
    in_lanes = SyncRun.objects.get(pk=int(sync_run(connected.pk, "manual").split()[1]))

    assert in_lanes.state == SyncRun.State.SUCCEEDED
    assert threads["opportunity"] != threads["contact"] == threads["account"]
    assert _state(connected) == expected
    assert _reads(in_lanes) == _reads(one_by_one)
    assert in_lanes.requests == one_by_one.requests
    assert (in_lanes.progress_done, in_lanes.progress_total) == (6, 6)
