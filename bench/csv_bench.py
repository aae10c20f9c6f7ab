"""CSV export benchmark: 100,000 rows through the real view, their peak memory against the file.

Creates a throwaway database the way the test runner does (SQLite in memory, or a
``test_<name>_csv_bench`` database on the PostgreSQL server of DATABASE_URL), fills one contract
with --rows rows of the chosen list in bulk, signs its admin in and downloads the export through
Django's test client, reading the streamed body chunk by chunk and keeping none of it:

1. once untraced, for the time and rows/s;
2. once under ``tracemalloc``, for the peak of Python memory allocated while it streams.

It prints the CSV's size, rows/s, the peak, and the ratio it is judged by: peak memory / CSV
size. A streamed export holds one chunk of rows (``exports.CHUNK_SIZE``) and one batch of text
at a time, so the peak stays flat as the rows grow and the ratio falls; an export built in memory
needs more than the whole file (ratio above 1). tracemalloc sees Python's allocations only, not
the database driver's C buffers (psycopg's server-side cursor holds one chunk there).

    python bench/csv_bench.py                            # SQLite, 100,000 unmatched contacts
    python bench/csv_bench.py --export audit --rows 20000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_sync python bench/csv_bench.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

from exports import CHUNK_SIZE  # noqa: E402
from seats.models import AuditEntry  # noqa: E402
from sync.models import CrmAccount, CrmContact  # noqa: E402
from tests.factories import ContractFactory, SeatFactory, seats_bulk_create  # noqa: E402

BATCH = 5_000


def _contacts(contract, rows: int) -> None:
    """``rows`` unmatched CRM contacts across 1,000 accounts (the match report's export)."""
    accounts = CrmAccount.objects.bulk_create(
        CrmAccount(contract=contract, crm_id=uuid.uuid4(), name=f"Account {n:04d} Industries")
        for n in range(1_000)
    )
    for start in range(0, rows, BATCH):
        CrmContact.objects.bulk_create(
            CrmContact(
                contract=contract,
                crm_id=uuid.uuid4(),
                first_name=f"First{n}",
                last_name=f"Last{n:06d}",
                full_name=f"First{n} Last{n:06d}",
                email=f"person{n}@example{n % 1000}.test",
                job_title="Head of Procurement",
                account_id=accounts[n % len(accounts)].crm_id,
            )
            for n in range(start, min(start + BATCH, rows))
        )


def _audit(contract, rows: int, admin) -> None:
    """``rows`` audit entries of seat role changes (the audit trail's export)."""
    for start in range(0, rows, BATCH):
        AuditEntry.objects.bulk_create(
            AuditEntry(
                contract=contract,
                actor=admin.user,
                actor_label=admin.user.email,
                action="seat.role",
                target=f"person{n}@example.test",
                before={"role": "seat_holder"},
                after={"role": "admin"},
            )
            for n in range(start, min(start + BATCH, rows))
        )


# --export: (URL name, how to fill the contract with the rows)
EXPORTS = {
    "unmatched": ("reports:matches_csv", lambda contract, rows, admin: _contacts(contract, rows)),
    "audit": ("reports:audit_csv", _audit),
    "seats": (
        "seats:export",
        lambda contract, rows, admin: seats_bulk_create(contract, rows - 1),
    ),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the export")
    parser.add_argument("--export", choices=sorted(EXPORTS), default="unmatched")
    return parser.parse_args(argv)


def _download(client: Client, url: str) -> tuple[int, int]:
    """Stream the export, keeping nothing: (bytes, lines)."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert response.streaming, "the export must be streamed"
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return size, lines


def main(argv=None) -> None:
    options = parse_args(argv)
    setup_test_environment()
    settings_dict = connection.settings_dict
    settings_dict["TEST"]["NAME"] = (
        None if connection.vendor == "sqlite" else f"test_{settings_dict['NAME']}_csv_bench"
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        url_name, fill = EXPORTS[options.export]
        contract = ContractFactory(name="Bench Contract", purchased_seats=options.rows + 10)
        admin = SeatFactory(contract=contract, admin=True, user__email="admin@bench.test")
        started = time.perf_counter()
        fill(contract, options.rows, admin)
        built = time.perf_counter() - started
        client = Client()
        client.force_login(admin.user)
        url = reverse(url_name)

        started = time.perf_counter()
        size, lines = _download(client, url)
        seconds = time.perf_counter() - started
        rows = lines - 1  # the header

        tracemalloc.start()
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        traced_size, _ = _download(client, url)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert traced_size == size
        peak -= baseline

        database = "in memory" if connection.vendor == "sqlite" else settings_dict["NAME"]
        print(
            f"CSV export '{options.export}' ({url}), {connection.vendor} ({database}), "
            f"{options.rows:,} rows built in {built:.1f} s, chunks of {CHUNK_SIZE:,} rows"
        )
        print(f"  rows exported        {rows:>12,}")
        print(f"  CSV size             {size / 2**20:>12.1f} MiB")
        print(f"  time (untraced)      {seconds:>12.2f} s")
        print(f"  rows/s               {rows / seconds:>12,.0f}")
        print(f"  peak Python memory   {peak / 2**20:>12.1f} MiB   (tracemalloc, while streaming)")
        print(f"  peak / CSV size      {peak / size:>12.3f}     (below 1: never the whole file)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
