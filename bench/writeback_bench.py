"""Writeback benchmark: copied items delivered to Dynamics in ``$batch``, against one request each.

1. Starts the Dynamics emulator (a demo org, reseeded in var/bench/ on every run so its activity
   tables start empty) and creates a throwaway database the way the test runner does (SQLite in
   memory, or ``test_<name>_writeback_bench`` on the PostgreSQL server of DATABASE_URL).
2. Connects a contract through the real Microsoft sign-in as the Integration User (so writes
   impersonate the seat holder), maps the seat holder to their CRM user, turns writeback on.
3. Creates --items copied messages in bulk to --members members: 70% matched by the import to
   CRM contacts, 10% known to the CRM only by email (live lookup), 20% unknown (open activities).
4. Delivers them through the real drain task (``writeback.tasks.drain_outbox``) and prints the
   HTTP requests the emulator served next to the floor (one ``$batch`` per --batch-size items,
   plus one lookup), and items/s.
5. Delivers the same items again under new activity ids, one request per item through the client
   (``create_closed_activity`` or ``create``), for comparison.

    python bench/writeback_bench.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_sync python bench/writeback_bench.py
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import uuid
from pathlib import Path

# Runnable as `python bench/writeback_bench.py` from a checkout: the repository root goes first on
# the import path; the test settings give the fast hasher and keep secrets out of the way.
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django_q.conf import Conf  # noqa: E402

from crm_settings.connect import connection_complete, connection_start  # noqa: E402
from crm_settings.crm import open_client  # noqa: E402
from crm_settings.models import CrmSettings  # noqa: E402
from dynamics import ChangeSet  # noqa: E402
from sync.models import CrmContact  # noqa: E402
from sync.users import crm_users_refresh  # noqa: E402
from tests.emulator_fixtures import start_emulator  # noqa: E402
from tests.factories import (  # noqa: E402
    ContractFactory,
    MemberFactory,
    SeatFactory,
    copied_messages_bulk_create,
)
from writeback.activities import activity_create  # noqa: E402
from writeback.matching import LiveLookup, matches_find  # noqa: E402
from writeback.models import OutboxEntry, OutboxState  # noqa: E402
from writeback.owners import seat_writers_get  # noqa: E402
from writeback.tasks import drain_outbox  # noqa: E402

INTEGRATION = "integration@contoso-demo.com"
SEAT_HOLDER = "alex.morgan@contoso-demo.com"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="copied messages")
    parser.add_argument("--members", type=int, default=200, help="members they are written to")
    parser.add_argument("--batch-size", type=int, default=100, help="items per claim and $batch")
    return parser.parse_args(argv)


def start_crm():
    data = REPO_ROOT / "var" / "bench" / "writeback-emulator.sqlite3"
    for stale in data.parent.glob(f"{data.name}*"):
        stale.unlink()
    crm = start_emulator(data, size="demo")
    settings.DYNAMICS_AUTHORITY_HOST = crm.base_url
    settings.DYNAMICS_DEFAULT_TENANT = crm.tenant
    settings.DYNAMICS_CA_BUNDLE = crm.ca_cert
    settings.DYNAMICS_EXTRA_ALLOWED_HOSTS = [crm.base_url.split("://", 1)[1]]
    settings.DYNAMICS_CLIENT_ID = crm.client_id
    settings.DYNAMICS_CLIENT_SECRET = crm.client_secret
    return crm


def connected_seat(crm):
    """A seat holder on a contract connected to ``crm`` the way an admin connects it."""
    contract = ContractFactory(name="Bench Contract")
    admin = SeatFactory(contract=contract, admin=True, user__email="admin@contoso-demo.com")
    pending = connection_start(
        environment_url=crm.base_url,
        tenant=crm.tenant,
        redirect_uri="http://127.0.0.1:8000/admin-settings/crm/callback/",
    )
    params = crm.sign_in(pending.flow["auth_uri"], INTEGRATION)
    connection_complete(contract=contract, pending=pending, params=params, by=admin.user)
    CrmSettings.objects.filter(contract=contract).update(writeback_enabled=True, writeback_all=True)
    seat = SeatFactory(contract=contract, user__email=SEAT_HOLDER)
    with open_client(contract.crm_connection) as client:
        crm_users_refresh(contract=contract, client=client)
    return seat


def members_for(seat, count: int) -> list:
    """70% matched by the import, 10% known to the CRM by email only, 20% unknown."""
    matched, by_email = count * 7 // 10, count // 10
    with open_client(seat.contract.crm_connection) as client:
        contacts = list(
            client.iter_rows(
                "contacts",
                select=["emailaddress1"],
                filter="emailaddress1 ne null",
                top=matched + by_email,
            )
        )
    members = MemberFactory.create_batch(matched)
    CrmContact.objects.bulk_create(
        CrmContact(contract=seat.contract, crm_id=c["contactid"], member=m, match_method="email")
        for m, c in zip(members, contacts, strict=False)
    )
    members += [MemberFactory(email=c["emailaddress1"]) for c in contacts[matched:]]
    return members + MemberFactory.create_batch(count - len(members))


def deliver_in_batches(crm, seat, batch_size: int) -> tuple[float, int]:
    crm.reset_stats()
    started = time.perf_counter()
    drain_outbox(seat.contract_id, batch_size=batch_size)
    seconds = time.perf_counter() - started
    return seconds, crm.stats()["by_kind"]["api"]


def deliver_one_by_one(crm, seat, entries: list[OutboxEntry]) -> tuple[float, int]:
    """The same items, one request each: a closed activity is one change set, an open one a
    create. New activity ids, so nothing meets the first delivery's activities."""
    connection = seat.contract.crm_connection
    writer = seat_writers_get(connection=connection, seat_ids=[seat.pk])[seat.pk]
    crm.reset_stats()
    started = time.perf_counter()
    with open_client(connection) as client:
        records = matches_find(
            contract_id=seat.contract_id, entries=entries, lookup=LiveLookup(client)
        )
        for entry in entries:
            entry.activity_id = uuid.uuid5(entry.activity_id, "one by one")
            request = activity_create(
                entry=entry, owner_id=writer.owner_id, record=records[entry.pk]
            )
            if isinstance(request, ChangeSet):
                create, close = request.operations
                client.create_closed_activity(
                    "li_messages",
                    create.body,
                    row_id=str(entry.activity_id),
                    state=(close.body["statecode"], close.body["statuscode"]),
                    caller_object_id=writer.caller_object_id,
                )
            else:
                client.create(
                    "li_messages",
                    request.body,
                    row_id=str(entry.activity_id),
                    caller_object_id=writer.caller_object_id,
                )
    return time.perf_counter() - started, crm.stats()["by_kind"]["api"]


def report(label: str, items: int, seconds: float, requests: int, floor: int) -> None:
    print(
        f"{label:<28} {requests:>8,} {floor:>8,} {requests / floor:>8.2f} {seconds:>9.2f} "
        f"{items / seconds:>9,.0f}"
    )


def main(argv=None) -> None:
    options = parse_args(argv)
    setup_test_environment()
    # Connecting queues the first import; it stays queued: this measures writeback alone.
    Conf.SYNC = False
    settings_dict = connection.settings_dict
    settings_dict["TEST"]["NAME"] = (
        None if connection.vendor == "sqlite" else f"test_{settings_dict['NAME']}_writeback_bench"
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    crm = start_crm()
    try:
        seat = connected_seat(crm)
        entries = copied_messages_bulk_create(
            seat=seat, members=members_for(seat, options.members), count=options.items
        )
        database = "in memory" if connection.vendor == "sqlite" else settings_dict["NAME"]
        print(
            f"Writeback of {options.items:,} messages to {options.members} members, "
            f"{connection.vendor} ({database}), $batch of {options.batch_size} items, "
            f"impersonating: {seat.contract.crm_connection.can_impersonate}"
        )
        print(f"{'':<28} {'requests':>8} {'floor':>8} {'ratio':>8} {'seconds':>9} {'items/s':>9}")
        seconds, requests = deliver_in_batches(crm, seat, options.batch_size)
        floor = math.ceil(options.items / options.batch_size) + 1
        report("$batch (drain_outbox)", options.items, seconds, requests, floor)
        batched = seconds

        entries = list(
            OutboxEntry.objects.filter(pk__in=[e.pk for e in entries]).select_related(
                "message__thread__member__company"
            )
        )
        seconds, requests = deliver_one_by_one(crm, seat, entries)
        report("one request per item", options.items, seconds, requests, options.items + 1)
        print(f"$batch is {seconds / batched:.1f}x faster")

        sent = OutboxEntry.objects.filter(state=OutboxState.SENT).count()
        stored = crm.counts()["li_messages"]
        open_ = OutboxEntry.objects.filter(written_open=True).count()
        print(f"sent {sent:,} of {options.items:,} ({open_:,} open); CRM activities {stored:,}")
        if sent != options.items or stored != 2 * options.items:
            raise SystemExit("delivery incomplete: see the counts above")
    finally:
        crm.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
