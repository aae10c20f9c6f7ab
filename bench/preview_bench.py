"""Preview benchmark: the dry run of the import (``sync.preview``) on a large org's mirror.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_sync python bench/preview_bench.py
    python bench/preview_bench.py --size large            # default: huge

Steps:

1. Load the org and its network as ``bench/import_bench.py`` does (the emulator's data file under
   ``var/bench/``, a throwaway ``<name>_bench`` database, a seat for every sales user) and run a
   full import, so the mirror and the saves are those of a real import.
2. Time each preview a page asks for, five times each (the median counts): a later pipeline
   stage and *Not Sure* (CRM Settings), the auto-sync answer No, one seat's *Disable CRM Sync*
   and *Enable CRM Sync*, and five new seats (*Assign seats from CRM*), with its query count.
3. Check the preview's figures once against what the import then does: the stage saved, the
   incremental import run, its counts compared.

Target: well under a second per preview at the ``huge`` size.
"""

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import import_bench  # noqa: E402  (sets up Django with the import benchmark's settings)
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

import demodata  # noqa: E402
from crm_settings.selectors import crm_settings_get  # noqa: E402
from network.demo import network_seed  # noqa: E402
from sync.evaluate import new_seat_id  # noqa: E402
from sync.models import CrmUser  # noqa: E402
from sync.preview import saves_preview  # noqa: E402

STAGES = [{"value": value, "label": label} for value, label in demodata.SALES_STAGES]
REPEAT = 5


def _timed(**what_if) -> tuple[float, int, object]:
    """The median wall time of ``REPEAT`` previews, the queries of one, and its result."""
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        with import_bench.QueryCounter() as counter:
            preview = saves_preview(**what_if)
        times.append(time.perf_counter() - started)
    return statistics.median(times), counter.count, preview


def _run(emulator, args) -> None:
    org = demodata.generate_org(args.size, args.seed)
    network_seed(size=args.size, seed=args.seed)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE network_company, network_member")
    contract = import_bench._contract(emulator, org)
    seconds, run, _ = import_bench._import(contract, emulator, trigger="manual")
    assert run.state == "succeeded", (run.state, run.error_detail)
    saves = run.counts["saves"]
    print(
        f"\nfull import {seconds:.1f} s: {saves['accounts_added']:,} accounts, "
        f"{saves['leads_added']:,} leads saved for {contract.seats.count():,} seats"
    )
    seat = contract.seats.order_by("pk").first()
    newcomers = list(
        CrmUser.objects.filter(contract=contract, seat_links__isnull=True)
        .exclude(email="")
        .values_list("pk", flat=True)[:5]
    )
    cases = [
        ("later stage (Propose)", {"stage": (2, STAGES)}),
        ("stage Qualify", {"stage": (0, STAGES)}),
        ("auto sync No", {"auto_sync": False}),
        ("one seat: Disable CRM Sync", {"seat_sync": {seat.pk: False}, "of_seats": [seat.pk]}),
        ("one seat: Enable CRM Sync", {"seat_sync": {seat.pk: True}, "of_seats": [seat.pk]}),
        (
            f"{len(newcomers)} new seats from CRM",
            {"new_seats_for": newcomers, "of_seats": [new_seat_id(pk) for pk in newcomers]},
        ),
    ]
    print(f"\npreview ({args.size} org, {connection.vendor}; median of {REPEAT})")
    worst = 0.0
    for label, what_if in cases:
        median, queries, preview = _timed(contract=contract, **what_if)
        worst = max(worst, median)
        print(f"  {label:32s} {median * 1000:7.0f} ms  {queries:3d} queries  {preview.summary}")
    print(f"  slowest / 1 s target             {worst:7.2f} x")

    # The figures against the real run, once: save the later stage, run the import.
    _, _, preview = _timed(contract=contract, stage=(2, STAGES))
    crm_settings = crm_settings_get(contract=contract)
    crm_settings.pipeline_stage, crm_settings.pipeline_stage_options = 2, STAGES
    crm_settings.save()
    seconds, run, _ = import_bench._import(contract, emulator, trigger="settings")
    done = run.counts["saves"]
    same = all(
        preview.totals[f"{kind}_{move}"] == done[f"{kind}_{move}"]
        for kind in ("accounts", "leads")
        for move in ("added", "removed")
    )
    print(
        f"\nimport after saving the stage ({seconds:.1f} s): removed {done['accounts_removed']:,}"
        f" accounts and {done['leads_removed']:,} leads; preview said "
        f"{preview.totals['accounts_removed']:,} and {preview.totals['leads_removed']:,}: "
        f"{'equal' if same else 'DIFFERENT'}"
    )


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(demodata.SIZES), default="huge")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    name = f"emulator-{args.size}-{args.seed}-{import_bench._source_fingerprint()}.sqlite3"
    data = ROOT.parent / "var" / "bench" / name
    emulator = import_bench.start_emulator(
        data, size=args.size, seed_number=args.seed, startup_timeout=900
    )
    test_name = f"{settings.DATABASES['default']['NAME']}_bench"
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = test_name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        _run(emulator, args)
    finally:
        connection.close()
        connection.creation.destroy_test_db(test_name, verbosity=0)
        emulator.stop()


if __name__ == "__main__":
    main()
