"""One pending drain per contract: saving many items puts one drain task in the queue, and an item
saved while a drain runs is still delivered (by that drain or by one follow-up).

The queue here is django-q2's real ORM broker (the test settings run tasks inline; these tests
switch that off), so what is counted is what a worker would find.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.models import OrmQ

from inbox.services import message_send
from tests.factories import CrmConnectionFactory
from writeback.models import OutboxDrain, OutboxEntry, OutboxState
from writeback.outbox import outbox_drain_request
from writeback.tasks import DRAIN_OUTBOX, drain_due_outboxes, drain_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _queued_not_inline(monkeypatch):
    monkeypatch.setattr("django_q.conf.Conf.SYNC", False)


def _queue() -> list[tuple[str, tuple]]:
    return [(task.func(), tuple(task.args())) for task in OrmQ.objects.order_by("pk")]


def _work_the_queue() -> list:
    """What a worker does: take each queued task off the broker and run it; returns results."""
    results = []
    for task in OrmQ.objects.order_by("pk"):
        assert task.func() == DRAIN_OUTBOX
        task.delete()
        results.append(drain_outbox(*task.args()))
    return results


def _fake_delivery(monkeypatch, *, during_first_batch=None) -> list[list[int]]:
    """Delivery that marks every claimed entry sent (the CRM side is tested elsewhere), and can
    run something while the first batch is in flight; returns the claimed ids per batch."""
    batches = []

    def deliver(*, run, entries):
        batches.append([entry.pk for entry in entries])
        if during_first_batch and len(batches) == 1:
            during_first_batch()
        OutboxEntry.objects.filter(pk__in=batches[-1]).update(
            state=OutboxState.SENT, claim_token=None
        )

    monkeypatch.setattr("writeback.tasks.deliver", deliver)
    return batches


def test_saving_200_items_enqueues_one_drain(
    writeback_on, seat_holder, member, contract, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(200):
            message_send(seat=seat_holder, member=member, body=f"m{n}", copy_to_crm=True)
    assert OutboxEntry.objects.filter(state=OutboxState.QUEUED).count() == 200
    assert _queue() == [(DRAIN_OUTBOX, (contract.pk,))]


def test_items_saved_in_separate_requests_while_the_drain_waits_add_no_task(
    writeback_on, seat_holder, member, contract, django_capture_on_commit_callbacks
):
    for n in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            message_send(seat=seat_holder, member=member, body=f"m{n}", copy_to_crm=True)
    assert len(_queue()) == 1


def test_the_waiting_drain_delivers_everything_saved_before_it_started(
    writeback_on, seat_holder, member, contract, monkeypatch, django_capture_on_commit_callbacks
):
    CrmConnectionFactory(contract=contract)
    batches = _fake_delivery(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            message_send(seat=seat_holder, member=member, body=f"m{n}", copy_to_crm=True)
    assert _work_the_queue() == [3]
    assert len(batches) == 1
    assert not OutboxEntry.objects.exclude(state=OutboxState.SENT).exists()
    assert _queue() == []


def test_an_item_saved_while_the_drain_runs_is_not_lost(
    writeback_on, seat_holder, member, contract, monkeypatch, django_capture_on_commit_callbacks
):
    """GIVEN a drain under way (it has cleared its request and is delivering its first batch)
    WHEN a seat holder saves another item
    THEN that item asks for one follow-up drain, and ends up sent: by the running drain's next
    claim or by the follow-up."""
    CrmConnectionFactory(contract=contract)

    def save_another():
        with django_capture_on_commit_callbacks(execute=True):
            message_send(seat=seat_holder, member=member, body="late", copy_to_crm=True)

    _fake_delivery(monkeypatch, during_first_batch=save_another)
    with django_capture_on_commit_callbacks(execute=True):
        message_send(seat=seat_holder, member=member, body="first", copy_to_crm=True)

    taken = _work_the_queue()
    assert taken == [2]  # the running drain's next claim took the late item
    assert _queue() == [(DRAIN_OUTBOX, (contract.pk,))]
    assert _work_the_queue() == [0]
    assert OutboxEntry.objects.filter(state=OutboxState.SENT).count() == 2
    assert _queue() == []


def test_the_sweep_adds_no_drain_while_one_waits(
    writeback_on, seat_holder, member, contract, django_capture_on_commit_callbacks
):
    CrmConnectionFactory(contract=contract)
    with django_capture_on_commit_callbacks(execute=True):
        message_send(seat=seat_holder, member=member, body="m", copy_to_crm=True)
    assert drain_due_outboxes() == 0
    assert drain_due_outboxes() == 0
    assert len(_queue()) == 1


def test_the_sweep_enqueues_a_drain_when_none_waits(writeback_on, seat_holder, member, contract):
    CrmConnectionFactory(contract=contract)
    # Saved in a transaction that never commits here: its own drain request was never made.
    message_send(seat=seat_holder, member=member, body="m", copy_to_crm=True)
    assert drain_due_outboxes() == 1
    assert drain_due_outboxes() == 0
    assert _queue() == [(DRAIN_OUTBOX, (contract.pk,))]


def test_a_request_that_never_reached_a_worker_is_made_again_after_q_retry(contract, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    assert outbox_drain_request(contract_id=contract.pk) is True
    assert outbox_drain_request(contract_id=contract.pk) is False
    time_machine.shift(timedelta(seconds=settings.Q_RETRY - 1))
    assert outbox_drain_request(contract_id=contract.pk) is False
    time_machine.shift(timedelta(seconds=2))
    assert outbox_drain_request(contract_id=contract.pk) is True


def test_a_drain_that_starts_clears_the_request(contract):
    assert outbox_drain_request(contract_id=contract.pk)
    drain_outbox(contract.pk)  # not connected: nothing to claim, the request is cleared anyway
    assert OutboxDrain.objects.get(contract=contract).requested_at is None
    assert outbox_drain_request(contract_id=contract.pk)
