"""Scale-out on the engine we already use: two ``manage.py qcluster`` processes (two machines, as
far as the work can tell) on one Redis broker and one PostgreSQL database, with 20 contracts
syncing and writing back at once.

The contracts share one emulator process, each connected through the real sign-in; one of them
is connected as a user whose every request the emulator slows down (``user_latency_ms``), so its
import is long. A separate process, like a web process, then asks for everything at once: for
each contract *Sync now* twice (the second while the first is pending) and two drains of its
outbox. The checks:

- every contract's import ran once for its two triggers (one run, and one task result that ran
  it), and every outbox item is in the emulator exactly once;
- fair scheduling (``Q_MAX_WORKERS_PER_CONTRACT`` = 1): every other contract is imported and
  delivered while the slow contract's import is still running, although its tasks were queued
  first; then it finishes too, once.

Needs PostgreSQL (``DATABASE_URL``) and a Redis database the test may empty
(``SCALE_OUT_REDIS_URL``, e.g. redis://127.0.0.1:6379/15); skipped without them, unless
``REQUIRE_SCALE_OUT=1`` (CI) makes that a failure. Select it with ``-m scale_out``.
"""

import contextlib
import os
import signal
import subprocess
import textwrap
import time
import uuid

import pytest
import redis
from django.db import connection
from django_q.models import Task

from crm_settings.connect import connection_complete, connection_start
from crm_settings.crm import open_client
from crm_settings.models import CrmSettings
from seats.models import Role
from sync.models import SyncRun
from sync.tasks import SYNC_RUN
from sync.users import crm_users_refresh
from tests.conftest import point_portal_at
from tests.factories import ContractFactory, MemberFactory, SeatFactory, copied_messages_bulk_create
from tests.processes import manage, portal_env
from writeback.models import OutboxEntry, OutboxState

pytestmark = [pytest.mark.scale_out, pytest.mark.emulator, pytest.mark.django_db(transaction=True)]

CONTRACTS = 20
ITEMS_PER_CONTRACT = 15
INTEGRATION = "integration@contoso-demo.com"
SLOW_USER = "priya.shah@contoso-demo.com"
# Each request of the slow contract's user waits this long: its import (several requests) takes
# far longer than the other 19 contracts' work together, unless something makes them wait
# behind it. The test lifts it once they are done.
SLOW_MS = 8000


def _unavailable() -> str | None:
    """Why the test cannot run here, or None."""
    if connection.vendor != "postgresql":
        return "needs PostgreSQL (DATABASE_URL): both clusters and the test share the database"
    url = os.environ.get("SCALE_OUT_REDIS_URL")
    if not url:
        return "SCALE_OUT_REDIS_URL is not set (a Redis database the test may empty)"
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis at {url} is unreachable: {error}"
    return None


@pytest.fixture
def redis_url():
    reason = _unavailable()
    if reason:
        if os.environ.get("REQUIRE_SCALE_OUT") == "1":
            pytest.fail(f"REQUIRE_SCALE_OUT=1, but {reason}")
        pytest.skip(reason)
    url = os.environ["SCALE_OUT_REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="module")
def fleet_crm(emulator_factory):
    return emulator_factory(size="demo")


def _connect(crm, contract, admin, email: str) -> None:
    pending = connection_start(
        environment_url=crm.base_url,
        tenant=crm.tenant,
        redirect_uri="http://127.0.0.1:8000/admin-settings/crm/callback/",
    )
    params = crm.sign_in(pending.flow["auth_uri"], email)
    connection_complete(contract=contract, pending=pending, params=params, by=admin.user)


def _crm_rep(crm, n: int) -> str:
    """A sales rep of the org for contract ``n`` (a person holds one seat in the portal); the
    emulator gives a new user a sales rep's privileges."""
    email = f"fleet.rep{n:02d}@contoso-demo.com"
    crm.create_row(
        "systemusers",
        systemuserid=str(uuid.uuid4()),
        firstname="Fleet",
        lastname=f"Rep {n:02d}",
        internalemailaddress=email,
        azureactivedirectoryobjectid=str(uuid.uuid4()),
        isdisabled=False,
        accessmode=0,
    )
    return email


def _contracts(crm) -> list:
    """20 contracts on the emulator, each with a rep mapped to his CRM user and items to copy;
    the first connected as the slow user."""
    contracts = []
    for n in range(CONTRACTS):
        contract = ContractFactory(name=f"Fleet {n:02d}")
        admin = SeatFactory(contract=contract, role=Role.ADMIN)
        rep = SeatFactory(contract=contract, user__email=_crm_rep(crm, n))
        _connect(crm, contract, admin, SLOW_USER if n == 0 else INTEGRATION)
        CrmSettings.objects.filter(contract=contract).update(
            writeback_enabled=True, writeback_all=True
        )
        with open_client(contract.crm_connection) as client:
            crm_users_refresh(contract=contract, client=client)
        members = MemberFactory.create_batch(3)
        copied_messages_bulk_create(seat=rep, members=members, count=ITEMS_PER_CONTRACT)
        contracts.append(contract)
    return contracts


# What a web process does when admins select *Sync now* twice and items are saved twice: in a
# process of its own, queuing on the shared broker. The slow contract comes first.
_TRIGGER = textwrap.dedent(
    """
    from seats.models import Contract
    from sync.services import sync_request
    from writeback.outbox import outbox_drain_enqueue
    for contract_id in {ids!r}:
        contract = Contract.objects.get(pk=contract_id)
        for _ in range(2):
            sync_request(contract=contract, trigger="manual")
            outbox_drain_enqueue(contract_id=contract_id)
    """
)


def _wait_for(check, *, timeout: float, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(message())


def _stop(clusters: list[subprocess.Popen]) -> None:
    """Stop the clusters as an operator would (SIGTERM to each cluster's own process, which
    stops its workers), all at once; whatever is left after a while is killed."""
    for cluster in clusters:
        if cluster.poll() is None:
            cluster.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for cluster in clusters:
        with contextlib.suppress(subprocess.TimeoutExpired):
            cluster.wait(max(deadline - time.monotonic(), 0.1))
        # The group: workers a cluster that did not stop in time left behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(10)


def _done(contract) -> bool:
    runs = SyncRun.objects.filter(contract=contract)
    delivered = OutboxEntry.objects.filter(contract=contract, state=OutboxState.SENT)
    return (
        runs.filter(state=SyncRun.State.SUCCEEDED).exists()
        and not runs.filter(state__in=SyncRun.ACTIVE_STATES).exists()
        and delivered.count() == ITEMS_PER_CONTRACT
    )


def test_two_clusters_share_the_work_of_20_contracts_fairly_and_exactly_once(
    redis_url, fleet_crm, settings, monkeypatch, tmp_path
):
    crm = point_portal_at(settings, fleet_crm)
    crm.reset()
    # Connecting starts the first import (inline here): the triggers below are what is counted.
    monkeypatch.setattr("crm_settings.connect.import_enqueue", lambda **kwargs: None)
    contracts = _contracts(crm)
    slow, others = contracts[0], contracts[1:]
    crm.set_faults(user_latency_ms={SLOW_USER: SLOW_MS})

    env = portal_env(
        crm,
        tmp_path,
        REDIS_URL=redis_url,
        Q_WORKERS="2",
        Q_MAX_WORKERS_PER_CONTRACT="1",
        Q_TIMEOUT="300",
        Q_RETRY="360",
        # django-q2's own lines, "Processed ..." per task: which cluster did what.
        PORTAL_Q_LOG_LEVEL="INFO",
    )
    logs = [tmp_path / f"cluster-{n}.log" for n in (1, 2)]
    clusters = [manage(["qcluster"], env, log, group=True) for log in logs]

    def cluster_logs() -> str:
        return "\n".join(log.read_text(errors="replace")[-4000:] for log in logs)

    try:
        trigger = manage(
            ["shell", "-c", _TRIGGER.format(ids=[c.pk for c in contracts])],
            env,
            tmp_path / "trigger.log",
        )
        assert trigger.wait(60) == 0, (tmp_path / "trigger.log").read_text()

        # Every other contract is imported and delivered while the slow one still imports.
        _wait_for(
            lambda: all(_done(contract) for contract in others),
            timeout=120,
            message=cluster_logs,
        )
        # The slow contract's work held one worker throughout (its drain may have gone first).
        assert not _done(slow)
        assert SyncRun.objects.get(contract=slow).state in SyncRun.ACTIVE_STATES

        # Then the slow org speeds up, and the slow contract finishes too.
        crm.set_faults(user_latency_ms={})
        _wait_for(lambda: _done(slow), timeout=120, message=cluster_logs)
    finally:
        _stop(clusters)

    # Both clusters did work.
    for log in logs:
        assert f"Processed '{SYNC_RUN}'" in log.read_text(errors="replace"), cluster_logs()
    # One import per contract for its two triggers: one run, run by one task.
    for contract in contracts:
        [run] = SyncRun.objects.filter(contract=contract)
        assert (run.state, run.trigger, run.resumes) == (SyncRun.State.SUCCEEDED, "manual", 0)
    results = [str(task.result) for task in Task.objects.filter(func=SYNC_RUN)]
    ran = sorted(result for result in results if result.endswith("succeeded"))
    assert ran == sorted(
        f"run {run.pk} succeeded" for run in SyncRun.objects.filter(contract__in=contracts)
    ), results
    # Every item is in the CRM exactly once.
    expected = sorted(str(a) for a in OutboxEntry.objects.values_list("activity_id", flat=True))
    assert len(expected) == CONTRACTS * ITEMS_PER_CONTRACT
    delivered = sorted(row["activityid"] for row in crm.rows("li_messages", top=100_000))
    assert delivered == expected
