"""Network loader benchmark: loading the ``huge`` prospecting network from CSV files.

Writes the network that matches the emulator's org of --size (``huge``: about 49,000 companies and
225,000 members, a few hundred of them invalid on purpose) to two CSV files, then times
``manage.py import_network`` on each, into a throwaway database made the way the test runner
makes one (SQLite in memory, or ``test_<name>_network_bench`` on the PostgreSQL server of
DATABASE_URL). It then loads the same files again (nothing changes: the second load only reads
and compares) and prints both against the target of 10 s for a first load of the huge network.

    python bench/network_bench.py                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_sync python bench/network_bench.py
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

import demodata  # noqa: E402
from network.demo import DEMO_SEED  # noqa: E402
from network.loading import COMPANY_FIELDS, PERSON_FIELDS  # noqa: E402

TARGET_SECONDS = 10.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(demodata.SIZES), default="huge")
    return parser.parse_args(argv)


def write_files(size: str, folder: Path) -> tuple[Path, Path, int, int]:
    """The network of the ``size`` org as companies.csv and people.csv; returns paths, counts."""
    network = demodata.network_for_org(demodata.generate_org(size, DEMO_SEED), DEMO_SEED)
    companies, people = folder / "companies.csv", folder / "people.csv"
    counts = []
    for path, fields, rows in (
        (companies, COMPANY_FIELDS, network.companies),
        (people, PERSON_FIELDS, network.people),
    ):
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fields, extrasaction="ignore")
            writer.writeheader()
            count = 0
            for row in rows:
                writer.writerow(row)
                count += 1
        counts.append(count)
    return companies, people, *counts


def load(path: Path) -> tuple[float, str]:
    out = StringIO()
    started = time.perf_counter()
    call_command("import_network", str(path), stdout=out)
    return time.perf_counter() - started, out.getvalue().splitlines()


def main(argv=None) -> None:
    options = parse_args(argv)
    setup_test_environment()
    settings_dict = connection.settings_dict
    settings_dict["TEST"]["NAME"] = (
        None if connection.vendor == "sqlite" else f"test_{settings_dict['NAME']}_network_bench"
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            companies, people, n_companies, n_people = write_files(options.size, Path(folder))
            print(
                f"Network loader, {options.size} network ({n_companies:,} companies, "
                f"{n_people:,} people rows), {connection.vendor}, from CSV via import_network"
            )
            totals = []
            for label in ("first load", "same files again"):
                elapsed_companies, report_companies = load(companies)
                elapsed_people, report_people = load(people)
                total = elapsed_companies + elapsed_people
                totals.append(total)
                print(
                    f"{label:<18} companies {elapsed_companies:6.2f} s  "
                    f"people {elapsed_people:6.2f} s"
                    f"  total {total:6.2f} s  "
                    f"({(n_companies + n_people) / total:,.0f} rows/s)"
                )
                print(f"{'':<18} {report_companies[0]} {report_people[1]} {report_people[2]}")
            print(f"first load / target ({TARGET_SECONDS:.0f} s): {totals[0] / TARGET_SECONDS:.2f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
