"""Exactly once under faults: thousands of items through a misbehaving CRM, and a worker killed
in the middle of a batch. The demo org is reset before each test (its activity tables start
empty), so counting its activities counts this test's."""

import signal
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from crm_settings.crm import open_client
from portal.schedules import SCHEDULES
from sync.models import CrmContact
from tests.factories import MemberFactory, SeatFactory, copied_messages_bulk_create
from tests.processes import manage, portal_env
from tests.writeback.conftest import ALEX, connect, copy_everything, map_seats
from writeback.models import OutboxEntry, OutboxState
from writeback.tasks import DRAIN_DUE_OUTBOXES, drain_due_outboxes, drain_outbox

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def _members(contract, *, matched: int, by_email: int, unmatched: int) -> list:
    """Members the import matched to CRM contacts, members the CRM knows only by email, and
    members it does not know at all."""
    with open_client(contract.crm_connection) as client:
        rows = client.iter_rows(
            "contacts",
            select=["emailaddress1"],
            filter="emailaddress1 ne null",
            top=matched + by_email,
        )
        contacts = list(rows)
    members = []
    for contact in contacts[:matched]:
        member = MemberFactory()
        CrmContact.objects.create(
            contract=contract, crm_id=contact["contactid"], member=member, match_method="email"
        )
        members.append(member)
    members += [MemberFactory(email=c["emailaddress1"]) for c in contacts[matched:]]
    return members + MemberFactory.create_batch(unmatched)


@pytest.fixture
def copying_rep(demo_crm, contract, admin, monkeypatch):
    """Alex Morgan's seat on ``contract``, connected to ``demo_crm`` and copying everything."""
    # Connecting starts the first import: not what these tests are about.
    monkeypatch.setattr("crm_settings.connect.import_enqueue", lambda **kwargs: None)
    connect(demo_crm, contract, admin)
    copy_everything(contract, monkeypatch)
    rep = SeatFactory(contract=contract, user__email=ALEX)
    map_seats(contract)
    return rep


def _activity_ids(crm, entity_set: str) -> list[str]:
    return [row["activityid"] for row in crm.rows(entity_set, top=100_000)]


@pytest.mark.django_db
def test_5000_items_through_throttling_errors_and_drops_arrive_exactly_once(demo_crm, copying_rep):
    """GIVEN 5,000 copied messages, and a CRM where a fifth of the requests get 429 or 5xx and
    some connections drop, before or after the write was applied
    WHEN the outbox is drained, and drained again as retries come due
    THEN every item is sent, and the CRM holds exactly one activity per item."""
    crm, rep = demo_crm, copying_rep
    members = _members(rep.contract, matched=30, by_email=10, unmatched=10)
    entries = copied_messages_bulk_create(seat=rep, members=members, count=5000)
    crm.replace_faults(
        throttle_rate=0.1,
        error_rate=0.1,
        drop_rate=0.05,
        drop_after_write_rate=0.1,
        retry_after=0,
        fault_seed=11,
        scope="api",
    )

    for _ in range(10):
        drain_outbox(rep.contract_id)
        waiting = OutboxEntry.objects.exclude(state=OutboxState.SENT)
        if not waiting.exists():
            break
        waiting.update(next_attempt_at=timezone.now())  # their retry time has come
    crm.reset_faults()

    assert not OutboxEntry.objects.exclude(state=OutboxState.SENT).exists()
    injected = crm.stats()["faults_injected"]
    assert all(
        injected.get(fault) for fault in ("throttle", "error", "drop", "drop_after_write")
    ), injected
    ids = _activity_ids(crm, "li_messages")
    assert len(ids) == 5000
    assert set(ids) == {str(entry.activity_id) for entry in entries}
    assert OutboxEntry.objects.filter(written_open=False).count() == 4000


def _start_worker(crm, contract, tmp_path, *, lease: int = 3) -> subprocess.Popen:
    """``manage.py drain_outbox`` for the contract, in a process of its own, with a short lease
    by default: past it (with no renewal), entries of a dead worker are due again."""
    env = portal_env(crm, tmp_path, OUTBOX_LEASE_SECONDS=str(lease))
    return manage(["drain_outbox", "--contract", str(contract.pk)], env, tmp_path / "worker.log")


def _wait_for(check, *, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    pytest.fail(message)


def test_a_worker_killed_mid_batch_leaves_no_duplicate(
    transactional_db, demo_crm, copying_rep, tmp_path
):
    """GIVEN 2,000 copied messages and a CRM that takes its time over each request
    WHEN the worker delivering them is killed (SIGKILL) after the CRM applied a batch and before
    the worker recorded it, and a new worker starts once the dead one's lease has run out
    THEN every item is sent, and the CRM holds exactly one activity per item."""
    crm, rep = demo_crm, copying_rep
    members = _members(rep.contract, matched=20, by_email=0, unmatched=5)
    entries = copied_messages_bulk_create(seat=rep, members=members, count=2000)
    crm.replace_faults(latency_ms=150)

    worker = _start_worker(crm, rep.contract, tmp_path)
    try:
        _wait_for(
            lambda: OutboxEntry.objects.filter(state=OutboxState.SENT).count() >= 300,
            timeout=60,
            message=(tmp_path / "worker.log").read_text(errors="replace"),
        )
        # Kill it between the CRM applying a batch and the worker recording its outcomes.
        _wait_for(
            lambda: (
                crm.counts()["li_messages"]
                > OutboxEntry.objects.filter(state=OutboxState.SENT).count()
            ),
            timeout=30,
            message="no batch was applied",
        )
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(10)
    in_flight = OutboxEntry.objects.filter(state=OutboxState.SENDING)
    assert in_flight.exists()
    lease_end = max(in_flight.values_list("next_attempt_at", flat=True))
    time.sleep(max(0.0, (lease_end - timezone.now()).total_seconds()) + 0.5)

    worker = _start_worker(crm, rep.contract, tmp_path)
    assert worker.wait(120) == 0, (tmp_path / "worker.log").read_text(errors="replace")

    assert not OutboxEntry.objects.exclude(state=OutboxState.SENT).exists()
    ids = _activity_ids(crm, "li_messages")
    assert len(ids) == 2000
    assert set(ids) == {str(entry.activity_id) for entry in entries}


def test_a_killed_workers_items_are_delivered_by_the_next_sweep_within_two_minutes(
    transactional_db, demo_crm, copying_rep, tmp_path, settings, time_machine
):
    """GIVEN 1,000 copied messages being delivered by a worker with the standard lease
    WHEN that worker is killed (SIGKILL) while it holds a claim
    THEN the entries it held are due again at most a lease after it died (its renewals stopped),
    the minute sweep then hands them to another worker, which delivers them: every item is
    sent, once. The lease plus the sweep's minute make the two minutes."""
    crm, rep = demo_crm, copying_rep
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    [sweep] = [s for s in SCHEDULES if s.func == DRAIN_DUE_OUTBOXES]
    assert lease + timedelta(minutes=sweep.minutes) <= timedelta(minutes=2)
    members = _members(rep.contract, matched=20, by_email=0, unmatched=5)
    entries = copied_messages_bulk_create(seat=rep, members=members, count=1000)
    crm.replace_faults(latency_ms=150)

    worker = _start_worker(crm, rep.contract, tmp_path, lease=settings.OUTBOX_LEASE_SECONDS)
    held = OutboxEntry.objects.filter(state=OutboxState.SENDING)
    try:
        _wait_for(
            lambda: (
                OutboxEntry.objects.filter(state=OutboxState.SENT).count() >= 200 and held.exists()
            ),
            timeout=60,
            message=(tmp_path / "worker.log").read_text(errors="replace"),
        )
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(10)
    killed_at = timezone.now()
    crm.reset_faults()
    held_ids = set(held.values_list("pk", flat=True))
    assert held_ids
    lease_end = max(held.values_list("next_attempt_at", flat=True))
    assert lease_end <= killed_at + lease

    # The sweep's first tick after the lease ended (tasks run inline in the test settings).
    time_machine.move_to(lease_end + timedelta(seconds=1))
    assert drain_due_outboxes() == 1

    assert not OutboxEntry.objects.exclude(state=OutboxState.SENT).exists()
    assert OutboxEntry.objects.filter(pk__in=held_ids, attempts=2).count() == len(held_ids)
    ids = _activity_ids(crm, "li_messages")
    assert len(ids) == 1000
    assert set(ids) == {str(entry.activity_id) for entry in entries}
