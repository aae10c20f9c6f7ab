"""Seat Management benchmark: median milliseconds and queries per page for a 10,000-seat contract.

Creates a throwaway database the way the test runner does (SQLite in memory, or a
``test_<name>_pages_bench`` database on the PostgreSQL server of DATABASE_URL), fills one contract
with --seats seats in bulk (half matched to CRM users, some *Not Matched*, a fifth with imported
Accounts and Leads), signs its admin in and renders Admin / Seat Management through Django's test
client: first, middle and last pages, each sort, the filters and a search, --runs times each.
The database is dropped at the end.

    python bench/pages_bench.py                     # SQLite, 10,000 seats
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_sync python bench/pages_bench.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# Runnable as `python bench/pages_bench.py` from a checkout: the repository root goes first on
# the import path, and the test settings give the fast hasher, locmem mail and no debug toolbar.
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

from crm_settings.models import CrmSettings  # noqa: E402
from tests.factories import (  # noqa: E402
    ContractFactory,
    CrmConnectionFactory,
    SeatFactory,
    seats_bulk_create,
)

# (what the page shows, its query string): the views an admin of a big contract opens.
PAGES = [
    ("page 1, by name", {}),
    ("page 100, by name", {"page": 100}),
    ("last page, by name", {"page": "last"}),
    ("page 50, by email descending", {"sort": "-email", "page": 50}),
    ("page 1, by role", {"sort": "role"}),
    ("page 1, by last import (newest first)", {"sort": "-last_import"}),
    ("In CRM, page 40", {"crm": "yes", "page": 40}),
    ("Not Matched, page 1", {"mapping": "no"}),
    ("CRM sync off, page 1", {"sync": "no"}),
    ("search 'holder12'", {"q": "holder12"}),
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seats", type=int, default=10_000, help="seats on the contract")
    parser.add_argument("--runs", type=int, default=10, help="timed renders per page")
    return parser.parse_args(argv)


def build_contract(seats: int):
    """A connected contract with ``seats`` seats; returns its admin's seat."""
    contract = ContractFactory(name="Bench Contract", purchased_seats=seats)
    CrmConnectionFactory(contract=contract)
    CrmSettings.objects.create(contract=contract, auto_sync=True)
    admin = SeatFactory(contract=contract, admin=True, user__email="admin@bench.test")
    seats_bulk_create(contract, seats - 1)
    return admin


def measure(client: Client, params: dict, runs: int) -> tuple[float, int]:
    """Median milliseconds of ``runs`` renders (after one warm-up) and the queries per render."""
    url = reverse("seats:list")
    assert client.get(url, params).status_code == 200
    timings, queries = [], set()
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, params)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        queries.add(len(captured.captured_queries))
    if len(queries) != 1:
        raise AssertionError(f"queries changed between renders of {params}: {sorted(queries)}")
    return statistics.median(timings), queries.pop()


def main(argv=None) -> None:
    options = parse_args(argv)
    setup_test_environment()
    settings_dict = connection.settings_dict
    settings_dict["TEST"]["NAME"] = (
        None if connection.vendor == "sqlite" else f"test_{settings_dict['NAME']}_pages_bench"
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.perf_counter()
        admin = build_contract(options.seats)
        built = time.perf_counter() - started
        client = Client()
        client.force_login(admin.user)
        database = (
            "in memory" if connection.vendor == "sqlite" else connection.settings_dict["NAME"]
        )
        print(
            f"Seat Management, {options.seats:,} seats, {connection.vendor} ({database}), "
            f"built in {built:.1f} s, median of {options.runs} renders per page"
        )
        print(f"{'page':<40} {'median ms':>10} {'queries':>8}")
        medians, query_counts = [], set()
        for label, params in PAGES:
            median, queries = measure(client, params, options.runs)
            medians.append(median)
            query_counts.add(queries)
            print(f"{label:<40} {median:>10.1f} {queries:>8}")
        print(
            f"{'every page':<40} {statistics.median(medians):>10.1f} "
            f"{'/'.join(str(q) for q in sorted(query_counts)):>8}"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
