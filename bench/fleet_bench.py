"""Fleet benchmark: 50 contracts, each importing the ``small`` org, on 2 workers sharing one Redis
broker and one PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_sync \\
        FLEET_BENCH_REDIS_URL=redis://127.0.0.1:6379/6 python bench/fleet_bench.py
    python bench/fleet_bench.py --contracts 20 --clusters 1 --workers 2

Steps:

1. Seed the emulator's data file once (``var/bench/emulator-small-42-<code>.sqlite3``, reused
   after; ``<code>`` changes with the generator's and the emulator's source) and start it: one
   emulator process serves every contract.
2. Create a fresh database next to ``DATABASE_URL``'s (``<name>_fleet_bench``, dropped at the
   end), migrate it, load the network generated for the org, and connect --contracts contracts
   to the emulator through the real Microsoft sign-in (the Integration User), each with an admin.
3. Empty the Redis database (``FLEET_BENCH_REDIS_URL``: it must be one the benchmark may empty)
   and start --clusters ``manage.py qcluster`` processes of --workers workers each on it,
   configured like production (``Q_MAX_WORKERS_PER_CONTRACT`` 1: fair scheduling).
4. Select *Sync now* for every contract at once (``sync.services.sync_request``, queued on the
   shared broker) and wait until every run has ended.

It prints the total time (the first request to the last run's end), the time per contract (its
run alone, and from the request to its end), median and mean, and the spread: the slowest
contract against the median one, as a ratio. With N equal contracts on W workers the time from
request to end grows with the contract's place in the queue (the slowest one waits for about
N/W - 1 runs); the run time alone is what one contract costs, and its spread shows whether a
contract's run is slowed by the others sharing the machine.
"""

import argparse
import hashlib
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Production-like settings (DEBUG off); the keys only need to exist for the throwaway database.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "fleet-benchmark-not-secret")
os.environ.setdefault("PORTAL_ENCRYPTION_KEY", "ZmxlZXQtYmVuY2htYXJrLW5vdC1zZWNyZXQta2V5ISE=")
REDIS_URL = os.environ.get("FLEET_BENCH_REDIS_URL", "")
# This process queues on the same broker as the clusters.
os.environ["REDIS_URL"] = REDIS_URL

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

import crm_settings.connect  # noqa: E402
from crm_settings.connect import connection_complete, connection_start  # noqa: E402
from network.demo import network_seed  # noqa: E402
from seats.models import Contract, Role, Seat, User  # noqa: E402
from sync.models import SyncRun  # noqa: E402
from sync.services import sync_request  # noqa: E402
from tests.emulator_fixtures import start_emulator  # noqa: E402
from tests.processes import manage, portal_env  # noqa: E402

INTEGRATION = "integration@contoso-demo.com"
# One "Enqueued" line per request would bury the figures.
logging.getLogger("django-q").setLevel(logging.WARNING)


def _source_fingerprint() -> str:
    """A short hash of the org generator's and the emulator's code (as bench/import_bench.py)."""
    digest = hashlib.sha256()
    for package in ("demodata", "dynamics_emulator"):
        for path in sorted((ROOT / package).glob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def _point_at(emulator) -> None:
    settings.DYNAMICS_AUTHORITY_HOST = emulator.base_url
    settings.DYNAMICS_DEFAULT_TENANT = emulator.tenant
    settings.DYNAMICS_CA_BUNDLE = emulator.ca_cert
    settings.DYNAMICS_EXTRA_ALLOWED_HOSTS = [emulator.base_url.split("://", 1)[1]]
    settings.DYNAMICS_CLIENT_ID = emulator.client_id
    settings.DYNAMICS_CLIENT_SECRET = emulator.client_secret


def _contracts(emulator, count: int) -> list[Contract]:
    """``count`` contracts connected to the emulator the way an admin connects one."""
    # Connecting starts the first import at once: here every contract is asked for at the same
    # moment instead, after all are connected.
    crm_settings.connect.import_enqueue = lambda **kwargs: None
    contracts = []
    for n in range(count):
        contract = Contract.objects.create(name=f"Fleet {n:02d}", purchased_seats=5)
        user = User.objects.create(email=f"admin{n:02d}@fleet-bench.test", password="!")
        admin = Seat.objects.create(contract=contract, user=user, role=Role.ADMIN)
        pending = connection_start(
            environment_url=emulator.base_url,
            tenant=emulator.tenant,
            redirect_uri="http://127.0.0.1:8000/admin-settings/crm/callback/",
        )
        params = emulator.sign_in(pending.flow["auth_uri"], INTEGRATION)
        connection_complete(contract=contract, pending=pending, params=params, by=admin.user)
        contracts.append(contract)
    return contracts


def _stop(clusters: list[subprocess.Popen]) -> None:
    for cluster in clusters:
        if cluster.poll() is None:
            cluster.send_signal(signal.SIGTERM)
    for cluster in clusters:
        try:
            cluster.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(10)


def _ready(logs: list[Path], *, workers: int, timeout: float = 120) -> None:
    """Wait until every worker of every cluster said it is ready for work."""
    deadline = time.monotonic() + timeout
    while sum(log.read_text(errors="replace").count("ready for work") for log in logs) < workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"the clusters did not start; see {logs[0].parent}")
        time.sleep(0.2)


def _wait(contracts: list[Contract], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    runs = SyncRun.objects.filter(contract__in=contracts)
    while runs.filter(state__in=SyncRun.ACTIVE_STATES).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"runs still active after {timeout:.0f} s")
        time.sleep(0.25)


def _spread(label: str, seconds: list[float]) -> None:
    median = statistics.median(seconds)
    print(
        f"  {label:<22} median {median:6.2f} s   mean {statistics.mean(seconds):6.2f} s   "
        f"fastest {min(seconds):6.2f} s   slowest {max(seconds):6.2f} s   "
        f"slowest / median {max(seconds) / median:5.2f} x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=50)
    parser.add_argument("--size", default="small", help="the emulator org each contract imports")
    parser.add_argument("--clusters", type=int, default=2, help="qcluster processes")
    parser.add_argument("--workers", type=int, default=1, help="workers per qcluster process")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the runs")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("DATABASE_URL must be PostgreSQL: the clusters and this process share it.")
    if not REDIS_URL:
        raise SystemExit("Set FLEET_BENCH_REDIS_URL to a Redis database the benchmark may empty.")
    broker = redis.Redis.from_url(REDIS_URL)
    broker.ping()
    data = ROOT / "var" / "bench" / f"emulator-{args.size}-42-{_source_fingerprint()}.sqlite3"
    emulator = start_emulator(data, size=args.size, seed_number=42, startup_timeout=900)
    _point_at(emulator)
    test_name = f"{settings.DATABASES['default']['NAME']}_fleet_bench"
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = test_name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        _run(emulator, broker, args)
    finally:
        connection.close()
        connection.creation.destroy_test_db(test_name, verbosity=0)
        emulator.stop()
        broker.flushdb()


def _run(emulator, broker, args) -> None:
    network_seed(size=args.size, seed=42)
    contracts = _contracts(emulator, args.contracts)
    broker.flushdb()
    var_dir = ROOT / "var" / "bench" / "fleet"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = portal_env(
        emulator,
        var_dir,
        REDIS_URL=REDIS_URL,
        Q_WORKERS=str(args.workers),
        Q_MAX_WORKERS_PER_CONTRACT="1",
        # django-q2's "ready for work" lines: the clock starts once every worker is up.
        PORTAL_Q_LOG_LEVEL="INFO",
    )
    logs = [var_dir / f"cluster-{n}.log" for n in range(args.clusters)]
    for log in logs:
        log.write_text("")
    clusters = [manage(["qcluster"], env, log, group=True) for log in logs]
    try:
        _ready(logs, workers=args.clusters * args.workers)
        started = timezone.now()
        for contract in contracts:
            sync_request(contract=contract, trigger=SyncRun.Trigger.MANUAL)
        _wait(contracts, args.timeout)
    finally:
        _stop(clusters)
    runs = list(SyncRun.objects.filter(contract__in=contracts))
    failed = [run for run in runs if run.state != SyncRun.State.SUCCEEDED]
    if failed or len(runs) != len(contracts):
        raise SystemExit(f"{len(failed)} failed of {len(runs)} runs: {failed[:3]}")
    end = max(run.finished_at for run in runs)
    rows = sum(count.get("read", 0) for run in runs for _, count in run.table_counts())
    print(
        f"\n{len(contracts)} contracts x the {args.size} org, {args.clusters} qcluster "
        f"process(es) x {args.workers} worker(s), Redis broker, PostgreSQL"
    )
    total = (end - started).total_seconds()
    print(f"  total time             {total:6.2f} s   ({rows:,} rows read)")
    _spread("run per contract", [(r.finished_at - r.started_at).total_seconds() for r in runs])
    _spread("request to end", [(r.finished_at - started).total_seconds() for r in runs])


if __name__ == "__main__":
    main()
