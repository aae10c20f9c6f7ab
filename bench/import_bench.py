"""Import benchmark: a full import of a large org through the real services, against its floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_sync python bench/import_bench.py
    python bench/import_bench.py --size large            # default: huge

Steps:

1. Seed the emulator's data file once (``var/bench/emulator-<size>-<seed>-<code>.sqlite3``,
   reused after; ``<code>`` changes with the generator's and the emulator's source, so a changed
   org is seeded afresh) and start the emulator on it.
2. Create a fresh database next to ``DATABASE_URL``'s (``<name>_bench``, dropped at the end),
   migrate it, load the prospecting network generated for the org (timed on its own; then
   ``VACUUM ANALYZE`` and ``CHECKPOINT``, as autovacuum and the checkpointer would have long
   before an import in production), and create
   a contract with a seat for every sales user of the org, connected to the emulator.
3. Download every table the import reads through the same client with the same ``$select``,
   doing nothing with the rows: the floor for wall time. It is done before and after the import
   and the faster one counts (the stricter comparison on a machine whose speed varies).
4. Run a full import (``sync_run_request`` / ``sync_run_claim`` / ``sync_run_execute``), counting
   HTTP requests and database queries.
5. Run an incremental import with no change in between: one request per table.

It prints wall time, rows/s, requests next to the page floor (the sum over tables of
ceil(rows / page size)), database queries per page, and the ratio of the import's wall time to
the download's. Targets on a 2-core machine: requests within 5% of the floor, import at most 3x
the download.
"""

import argparse
import hashlib
import math
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Production-like settings (DEBUG off, so Django does not keep every query in memory); the keys
# only need to exist for the benchmark's throwaway database.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "import-benchmark-not-secret")
os.environ.setdefault("PORTAL_ENCRYPTION_KEY", "aW1wb3J0LWJlbmNobWFyay1ub3Qtc2VjcmV0LWtleSE=")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.utils import timezone  # noqa: E402

import demodata  # noqa: E402
from crm_settings.models import CrmConnection  # noqa: E402
from dynamics import DynamicsClient, StaticTokenAuth, make_session  # noqa: E402
from network.demo import network_seed  # noqa: E402
from seats.models import Contract, Role, Seat, User  # noqa: E402
from sync.mirror import TABLES, ReadContext  # noqa: E402
from sync.runs import sync_run_claim, sync_run_request  # noqa: E402
from sync.services import sync_run_execute  # noqa: E402
from tests.emulator_fixtures import start_emulator  # noqa: E402


class QueryCounter:
    """Counts database queries (a connection execute wrapper: no per-query memory), on this
    thread's connection and on every connection opened while it counts (the import's second
    reading lane has its own)."""

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self._lock:
            self.count += 1
        return execute(sql, params, many, context)

    def _on_new_connection(self, sender, connection, **kwargs):
        connection.execute_wrappers.append(self)

    def __enter__(self):
        connection.execute_wrappers.append(self)
        connection_created.connect(self._on_new_connection)
        return self

    def __exit__(self, *exc):
        connection_created.disconnect(self._on_new_connection)
        connection.execute_wrappers.remove(self)


def _source_fingerprint() -> str:
    """A short hash of the org generator's and the emulator's code."""
    digest = hashlib.sha256()
    for package in ("demodata", "dynamics_emulator"):
        for path in sorted((ROOT / package).glob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def _client(emulator) -> DynamicsClient:
    return DynamicsClient(
        emulator.base_url,
        StaticTokenAuth(emulator.token()),
        session=make_session(ca_bundle=emulator.ca_cert),
        page_size=settings.DYNAMICS_PAGE_SIZE,
        extra_allowed_hosts=[urlsplit(emulator.base_url).netloc],
    )


def _download(emulator, context: ReadContext) -> tuple[float, int, int]:
    """Read every page the import reads, keeping nothing: (seconds, rows, requests)."""
    client = _client(emulator)
    started = time.perf_counter()
    rows = 0
    for table in TABLES:
        for page in client.iter_changes(table.entity_set, select=table.select(context)):
            rows += len(page.rows)
    seconds = time.perf_counter() - started
    client.close()
    return seconds, rows, client.stats.requests


def _contract(emulator, org) -> Contract:
    """A contract with a seat for every sales user of the org, connected to the emulator."""
    contract = Contract.objects.create(name="Benchmark", purchased_seats=len(org.users) + 10)
    sales = [u for u in org.users if org.user_roles[u["systemuserid"]] == "sales"]
    users = User.objects.bulk_create(
        [User(email=u["internalemailaddress"], password="!") for u in sales]
    )
    Seat.objects.bulk_create(
        [Seat(contract=contract, user=user, role=Role.SEAT_HOLDER) for user in users]
    )
    # Marked as read: the choices CRM Settings offers are not part of the import measured here.
    CrmConnection.objects.create(
        contract=contract, environment_url=emulator.base_url, choices_read_at=timezone.now()
    )
    return contract


def _import(contract, emulator, *, trigger: str):
    """One import through the services; (seconds, run, queries)."""
    client = _client(emulator)
    started = time.perf_counter()
    with QueryCounter() as counter:
        run, _ = sync_run_request(contract=contract, trigger=trigger)
        sync_run_claim(run=run)
        sync_run_execute(run=run, client=client)
    seconds = time.perf_counter() - started
    client.close()
    run.refresh_from_db()
    return seconds, run, counter.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(demodata.SIZES), default="huge")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, help="emulator data file (default var/bench/...)")
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the benchmark database for inspection"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("Note: DATABASE_URL is not PostgreSQL; the targets are for PostgreSQL.")
    name = f"emulator-{args.size}-{args.seed}-{_source_fingerprint()}.sqlite3"
    data = args.data or ROOT / "var" / "bench" / name
    started = time.perf_counter()
    emulator = start_emulator(data, size=args.size, seed_number=args.seed, startup_timeout=900)
    print(f"emulator ready in {time.perf_counter() - started:.1f} s ({args.size}, {data})")
    test_name = f"{settings.DATABASES['default']['NAME']}_bench"
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = test_name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        _run(emulator, args)
    finally:
        connection.close()
        if not args.keep_db:
            connection.creation.destroy_test_db(test_name, verbosity=0)
        emulator.stop()


def _run(emulator, args) -> None:
    org = demodata.generate_org(args.size, args.seed)
    started = time.perf_counter()
    report = network_seed(size=args.size, seed=args.seed)
    print(
        f"network loaded in {time.perf_counter() - started:.1f} s: "
        f"{report.companies_created} companies, {report.members_created} members"
    )
    # The import meets a network at rest, as it would in production long after the network was
    # loaded: autovacuum has been by (no fresh rows for the first reader to set hint bits on),
    # and the load's writes are on disk (no checkpoint flushing them during the import).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE network_company, network_member")
            cursor.execute("CHECKPOINT")
    contract = _contract(emulator, org)
    context = ReadContext(contract_id=contract.pk)

    before, rows, download_requests = _download(emulator, context)
    page_size = settings.DYNAMICS_PAGE_SIZE
    counts = emulator.counts()
    floor = sum(math.ceil(counts[table.entity_set] / page_size) for table in TABLES)
    seconds, run, queries = _import(contract, emulator, trigger="manual")
    assert run.state == "succeeded", (run.state, run.error_detail)
    after, _, _ = _download(emulator, context)
    # The faster of the downloads before and after the import: the stricter comparison.
    download = min(before, after)
    read = sum(run.counts[table.logical_name]["read"] for table in TABLES)
    saves = run.counts["saves"]
    print(f"\nfull import of {read:,} rows ({args.size} org), PostgreSQL={connection.vendor}")
    print(f"  wall time            {seconds:8.2f} s")
    print(f"  rows/s               {read / seconds:8,.0f}")
    print(
        f"  HTTP requests        {run.requests:8d}   (page floor {floor}, "
        f"{100 * (run.requests - floor) / floor:+.1f}%)"
    )
    print(
        f"  database queries     {queries:8d}   ({queries / floor:.1f} per page, all steps;"
        " plus one COPY per page)"
    )
    print(
        f"  download only        {download:8.2f} s   ({rows:,} rows, {download_requests} "
        f"requests, same client and $select; {before:.2f} s before, {after:.2f} s after)"
    )
    print(f"  import / download    {seconds / download:8.2f} x   (target <= 3)")
    print(
        f"  saves                {saves['accounts_added']:,} accounts, "
        f"{saves['leads_added']:,} leads"
    )
    again, run, queries = _import(contract, emulator, trigger="schedule")
    print("\nincremental import, nothing changed")
    print(f"  wall time            {again:8.2f} s")
    print(f"  HTTP requests        {run.requests:8d}   (one per table: {len(TABLES)})")
    print(f"  database queries     {queries:8d}")


if __name__ == "__main__":
    main()
