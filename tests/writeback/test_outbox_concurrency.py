"""Workers claiming at the same time on PostgreSQL, each in its own thread and connection.

SQLite runs one writer at a time, so the race cannot happen there; ``test_outbox.py`` covers the
claim's logic on both databases with a simulated race.
"""

import threading

import pytest
from django.db import connection

from inbox.services import message_send
from writeback.models import OutboxEntry
from writeback.outbox import outbox_claim_due, outbox_drain_request, outbox_drain_started

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


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_request", [True, False], ids=["no-row-yet", "idle-row"])
def test_concurrent_saves_ask_for_one_drain(contract, first_request):
    """However many saves of a contract commit at the same moment, one of them enqueues."""
    if not first_request:
        assert outbox_drain_request(contract_id=contract.pk)
        outbox_drain_started(contract_id=contract.pk)
    start = threading.Barrier(WORKERS)
    answers: list[bool] = []
    failures: list[BaseException] = []

    def save():
        try:
            start.wait()
            answers.append(outbox_drain_request(contract_id=contract.pk))
        except BaseException as error:  # report it to the test, whatever it is
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=save) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(answers) == [False] * (WORKERS - 1) + [True]
