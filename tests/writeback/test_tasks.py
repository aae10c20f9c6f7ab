"""The drain task: it claims due entries and hands them to the delivery seam."""

import pytest

from inbox.services import message_send
from tests.factories import ContractFactory, CrmConnectionFactory, CrmSettingsFactory, SeatFactory
from writeback.models import OutboxEntry, OutboxState
from writeback.tasks import drain_due_outboxes, drain_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(writeback_on, seat_holder, member):
    return message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=True)


def test_without_a_connection_items_stay_queued(queued, contract):
    assert drain_outbox(contract.pk) == 0
    assert OutboxEntry.objects.get().state == OutboxState.QUEUED


def test_with_a_connection_due_entries_go_to_the_delivery(queued, contract, monkeypatch):
    delivered = []
    monkeypatch.setattr(
        "writeback.tasks.deliver",
        lambda *, run, entries: delivered.append((run.connection.contract_id, entries)),
    )
    CrmConnectionFactory(contract=contract)
    assert drain_outbox(contract.pk) == 1
    [(contract_id, [entry])] = delivered
    assert contract_id == contract.pk and entry.state == OutboxState.SENDING


def test_the_drain_takes_claims_until_nothing_is_due(queued, contract, member, monkeypatch):
    for body in ("two", "three"):
        message_send(seat=queued.thread.seat, member=member, body=body, copy_to_crm=True)
    claims = []
    monkeypatch.setattr(
        "writeback.tasks.deliver", lambda *, run, entries: claims.append(len(entries))
    )
    CrmConnectionFactory(contract=contract)
    assert drain_outbox(contract.pk, batch_size=2) == 3
    assert claims == [2, 1]


def test_the_drain_stops_when_the_sign_in_no_longer_works(queued, contract, member, monkeypatch):
    message_send(seat=queued.thread.seat, member=member, body="two", copy_to_crm=True)

    def halt(*, run, entries):
        run.halted = True

    monkeypatch.setattr("writeback.tasks.deliver", halt)
    CrmConnectionFactory(contract=contract)
    assert drain_outbox(contract.pk, batch_size=1) == 1


def test_a_contract_that_is_gone_is_skipped(db):
    assert drain_outbox(987654) == 0


def test_the_sweep_drains_only_connected_contracts_with_due_entries(
    queued, contract, member, monkeypatch
):
    enqueued = []
    monkeypatch.setattr("writeback.tasks.async_task", lambda *args: enqueued.append(args))
    idle = ContractFactory()
    CrmConnectionFactory(contract=idle)
    unconnected = ContractFactory()
    CrmSettingsFactory(contract=unconnected, writeback=True)
    message_send(seat=SeatFactory(contract=unconnected), member=member, body="x", copy_to_crm=True)
    CrmConnectionFactory(contract=contract)
    assert drain_due_outboxes() == 1
    assert enqueued == [("writeback.tasks.drain_outbox", contract.pk)]


def test_the_sweep_runs_every_minute():
    from portal.schedules import SCHEDULES

    [spec] = [s for s in SCHEDULES if s.func == "writeback.tasks.drain_due_outboxes"]
    assert spec.minutes == 1
