"""A drain keeps its claims while a batch takes long: its lease keeper renews them from a thread.

Committed for real (``transaction=True``): the keeper's thread has its own database connection,
which sees only committed rows.
"""

import threading
import time

import pytest

from inbox.services import message_send
from tests.factories import CrmConnectionFactory
from writeback.models import OutboxEntry, OutboxState
from writeback.tasks import drain_outbox

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(check, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("the lease was never renewed")
        time.sleep(0.05)


def test_a_batch_that_outlasts_its_lease_keeps_its_entries(
    writeback_on, seat_holder, member, contract, settings, monkeypatch
):
    """GIVEN a lease of 3 seconds (renewed every second)
    WHEN delivering a batch takes longer than the lease
    THEN the entries' lease is pushed on while the batch runs, no other claim can take them,
    and the renewals stop with the drain."""
    settings.OUTBOX_LEASE_SECONDS = 3
    # Saved (and its inline drain run) before the contract connects: it stays queued.
    message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=True)
    CrmConnectionFactory(contract=contract)
    seen = {}

    def slow_delivery(*, run, entries):
        [entry] = entries
        first_lease_end = entry.next_attempt_at
        renewed = OutboxEntry.objects.filter(pk=entry.pk, next_attempt_at__gt=first_lease_end)
        _wait_for(renewed.exists)
        renewed_again = OutboxEntry.objects.filter(
            pk=entry.pk, next_attempt_at__gt=renewed.get().next_attempt_at
        )
        _wait_for(renewed_again.exists)
        seen["state"] = OutboxEntry.objects.get(pk=entry.pk).state
        seen["threads"] = {thread.name for thread in threading.enumerate()}
        OutboxEntry.objects.filter(pk=entry.pk).update(state=OutboxState.SENT, claim_token=None)

    monkeypatch.setattr("writeback.tasks.deliver", slow_delivery)
    assert drain_outbox(contract.pk) == 1
    assert seen["state"] == OutboxState.SENDING
    assert "outbox-leases" in seen["threads"]
    assert "outbox-leases" not in {thread.name for thread in threading.enumerate()}
    assert OutboxEntry.objects.get().state == OutboxState.SENT
