"""Exactly once under faults: thousands of items through a misbehaving CRM, and a worker killed
in the middle of a batch. The demo org is reset before each test (its activity tables start
empty), so counting its activities counts this test's."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from crm_settings.crm import open_client
from sync.models import CrmContact
from tests.factories import MemberFactory, SeatFactory, copied_messages_bulk_create
from tests.writeback.conftest import ALEX, connect, copy_everything, map_seats
from writeback.models import OutboxEntry, OutboxState
from writeback.tasks import drain_outbox

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


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
    monkeypatch.setattr("crm_settings.connect.sync_enqueue", lambda **kwargs: None)
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


def _database_url() -> str:
    """The test database, for the worker process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(crm, contract, tmp_path) -> subprocess.Popen:
    """``manage.py drain_outbox`` for the contract, in a process of its own, with a short lease."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "Q_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=django_settings.SECRET_KEY,
        PORTAL_ENCRYPTION_KEY=django_settings.PORTAL_ENCRYPTION_KEY.decode(),
        PORTAL_VAR_DIR=str(tmp_path),
        DATABASE_URL=_database_url(),
        DATABASE_CONN_MAX_AGE="0",
        # The lease of a claim: past it, entries of a dead worker are due again.
        Q_TIMEOUT="10",
        Q_RETRY="15",
        DYNAMICS_AUTHORITY_HOST=crm.base_url,
        DYNAMICS_DEFAULT_TENANT=crm.tenant,
        DYNAMICS_CA_BUNDLE=crm.ca_cert,
        DYNAMICS_EXTRA_ALLOWED_HOSTS=urlsplit(crm.base_url).netloc,
        DYNAMICS_CLIENT_ID=crm.client_id,
        DYNAMICS_CLIENT_SECRET=crm.client_secret,
    )
    log = (tmp_path / "worker.log").open("ab")
    command = [sys.executable, "manage.py", "drain_outbox", "--contract", str(contract.pk)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


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
