"""Workers claiming at the same time on PostgreSQL, each in its own thread and connection.

SQLite runs one writer at a time, so the race cannot happen there; ``test_outbox.py`` covers the
claim's logic on both databases with a simulated race.
"""

import threading

import pytest
from django.db import connection

from inbox.services import message_send
from writeback.models import OutboxEntry
from writeback.outbox import outbox_claim_due

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
)

WORKERS, ENTRIES = 4, 60


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_split_the_due_entries_without_sharing_any(
    writeback_on, seat_holder, member
):
    for n in range(ENTRIES):
        message_send(seat=seat_holder, member=member, body=f"m{n}", copy_to_crm=True)
    start = threading.Barrier(WORKERS)
    taken: list[list[int]] = []
    failures: list[BaseException] = []

    def worker():
        mine = []
        try:
            start.wait()
            while batch := outbox_claim_due(contract=seat_holder.contract, limit=5):
                mine.extend(entry.pk for entry in batch)
        except BaseException as error:  # report it to the test, whatever it is
            failures.append(error)
        finally:
            taken.append(mine)
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    everything = [pk for mine in taken for pk in mine]
    assert len(everything) == len(set(everything)) == ENTRIES
    assert not OutboxEntry.objects.exclude(state="sending").exists()
