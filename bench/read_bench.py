"""Read benchmark: how fast the dynamics client reads a large org, and how many requests it needs.

Starts the emulator (`python -m dynamics_emulator serve --https`) on a data file that is seeded
once and reused, reads accounts, contacts, opportunities and systemusers through DynamicsClient
in pages of 5,000, and prints rows/s, requests made, bytes received, and the request floor:
the sum over tables of ceil(rows / page size), i.e. the fewest requests any client could make.

    python bench/read_bench.py                      # --size large, data in var/bench/
    python bench/read_bench.py --size small --data /tmp/small.sqlite3
"""

from __future__ import annotations

import argparse
import json
import math
import select
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

# Runnable as `python bench/read_bench.py` from a checkout without installing the package:
# put the repository root (not bench/) first on the import path.
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from dynamics import DynamicsClient, MsalAuth, make_session  # noqa: E402

TABLES = {
    "accounts": ["name", "websiteurl", "_ownerid_value", "statecode", "modifiedon"],
    "contacts": [
        "fullname",
        "firstname",
        "lastname",
        "emailaddress1",
        "jobtitle",
        "_parentcustomerid_value",
        "modifiedon",
    ],
    "opportunities": [
        "name",
        "statecode",
        "statuscode",
        "salesstage",
        "estimatedvalue",
        "actualvalue",
        "_parentaccountid_value",
        "_parentcontactid_value",
        "_customerid_value",
        "_ownerid_value",
        "modifiedon",
    ],
    "systemusers": [
        "fullname",
        "internalemailaddress",
        "domainname",
        "azureactivedirectoryobjectid",
        "isdisabled",
    ],
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", help="emulator org size (default: large)")
    parser.add_argument(
        "--data",
        type=Path,
        help="emulator data file, seeded on first use (default: var/bench/emulator-<size>.sqlite3)",
    )
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--seed-number", type=int, default=42)
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=1800,
        help="seconds to wait for the emulator (seeding a large org takes a while)",
    )
    return parser.parse_args(argv)


def start_emulator(args: argparse.Namespace, data: Path) -> tuple[subprocess.Popen, dict]:
    """Start the emulator and return (process, its ready line as a dict)."""
    command = [
        sys.executable,
        "-m",
        "dynamics_emulator",
        "serve",
        "--data",
        str(data),
        "--port",
        "0",
        "--https",
        "--size",
        args.size,
        "--seed-number",
        str(args.seed_number),
    ]
    print(f"starting emulator: {' '.join(command[1:])}", flush=True)
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    started = time.monotonic()
    # The ready line comes once the emulator has seeded the data file (first run only) and listens.
    readable, _, _ = select.select([process.stdout], [], [], args.startup_timeout)
    if not readable:
        stop_emulator(process)
        raise SystemExit(f"the emulator was not ready after {args.startup_timeout:.0f} s")
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        raise SystemExit(
            f"the emulator exited with status {process.returncode} before it was ready"
        )
    ready = json.loads(line)
    print(f"emulator ready after {time.monotonic() - started:.1f} s at {ready['base_url']}")
    return process, ready


def stop_emulator(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def read_all(client: DynamicsClient, page_size: int) -> dict[str, int]:
    """Read every table completely; return rows per table."""
    counts = {}
    for entity_set, columns in TABLES.items():
        started = time.monotonic()
        requests_before = client.stats.requests
        rows = sum(
            len(page.rows)
            for page in client.iter_pages(entity_set, select=columns, page_size=page_size)
        )
        seconds = time.monotonic() - started
        counts[entity_set] = rows
        print(
            f"  {entity_set:<14} {rows:>9,} rows  {client.stats.requests - requests_before:>4} "
            f"requests  {seconds:6.2f} s  {rows / seconds if seconds else 0:>10,.0f} rows/s"
        )
    return counts


def main(argv=None) -> None:
    args = parse_args(argv)
    data = args.data or REPO_ROOT / "var" / "bench" / f"emulator-{args.size}.sqlite3"
    data.parent.mkdir(parents=True, exist_ok=True)
    process, ready = start_emulator(args, data)
    try:
        session = make_session(ca_bundle=ready["ca_cert"])
        allowed = [urlsplit(ready["base_url"]).netloc]  # the emulator, as an operator allows it
        auth = MsalAuth(
            environment_url=ready["base_url"],
            client_id=ready["client_id"],
            client_credential=ready["client_secret"],
            authority=f"{ready['base_url']}/{ready['tenant']}",
            session=session,
            mode="app",
            extra_allowed_hosts=allowed,
        )
        client = DynamicsClient(
            ready["base_url"], auth, session=session, extra_allowed_hosts=allowed
        )
        auth.access_token()  # sign in before the clock starts
        client.stats.reset()
        print(f"reading {', '.join(TABLES)} in pages of {args.page_size:,}")
        started = time.monotonic()
        counts = read_all(client, args.page_size)
        seconds = time.monotonic() - started
    finally:
        stop_emulator(process)

    total = sum(counts.values())
    floor = sum(math.ceil(rows / args.page_size) for rows in counts.values())
    stats = client.stats
    print()
    print(f"rows read        {total:,}")
    print(f"elapsed          {seconds:.2f} s")
    print(f"rows/s           {total / seconds:,.0f}")
    print(
        f"requests         {stats.requests} (retries {stats.retries}, throttled {stats.throttled})"
    )
    print(f"request floor    {floor}  (sum over tables of ceil(rows / {args.page_size}))")
    print(f"requests/floor   {stats.requests / floor:.2f}")
    print(f"bytes received   {stats.bytes_received:,} ({stats.bytes_received / 2**20:.1f} MiB)")
    print(f"bytes sent       {stats.bytes_sent:,}")


if __name__ == "__main__":
    main()
