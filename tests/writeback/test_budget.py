"""Writeback and the API budget: drains leave the reserve to the connected user, and items told
to wait are put back for after the server's Retry-After without using an attempt."""

import ast
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_q.models import Schedule

from crm_settings.crm import open_client
from crm_settings.models import BUDGET_WINDOW, CrmConnection
from inbox.services import message_send
from tests.factories import MemberFactory
from writeback.models import ErrorKind, OutboxEntry, OutboxState
from writeback.tasks import DRAIN_OUTBOX, drain_due_outboxes, drain_outbox

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

INTEGRATION = "integration@contoso-demo.com"


def _windows(dynamics) -> dict:
    user_id = dynamics.user(INTEGRATION)["systemuserid"]
    return dynamics.service_protection()["users"][user_id]


def _use_up(contract, dynamics, *, limit: int, requests: int) -> CrmConnection:
    """Lower the org's request limit and send ``requests`` through the portal's client."""
    dynamics.reset_service_protection()  # an empty window: the limit is learned from one answer
    dynamics.set_service_protection(requests=limit)
    with open_client(contract.crm_connection) as client:
        for _ in range(requests):
            client.whoami()
    return CrmConnection.objects.get(contract=contract)


def _drain_schedule(contract) -> Schedule:
    return Schedule.objects.get(name=f"budget: writeback of contract {contract.pk}")


def test_a_drain_waits_while_less_than_the_reserve_is_left(rep, dynamics, monkeypatch):
    message = message_send(seat=rep, member=MemberFactory(), body="Hello", copy_to_crm=True)
    connection = _use_up(rep.contract, dynamics, limit=8, requests=7)  # 12.5% left
    enqueued = []
    monkeypatch.setattr("writeback.tasks.async_task", lambda *args: enqueued.append(args))

    assert drain_due_outboxes() == 0
    assert drain_outbox(rep.contract_id) == 0

    assert enqueued == []
    entry = OutboxEntry.objects.get(pk=message.delivery.pk)
    assert (entry.state, entry.attempts) == (OutboxState.QUEUED, 0)
    assert _windows(dynamics)["requests_in_window"] == 7  # nothing was sent
    retry = _drain_schedule(rep.contract)
    assert (retry.func, ast.literal_eval(retry.args)) == (
        DRAIN_OUTBOX,
        (rep.contract_id,),
    )
    assert retry.next_run == connection.budget_observed_at + BUDGET_WINDOW
    with time_machine.travel(connection.budget_observed_at + BUDGET_WINDOW + timedelta(seconds=1)):
        assert drain_due_outboxes() == 1


def test_items_told_to_wait_go_back_for_after_retry_after_without_using_an_attempt(
    rep, dynamics, settings
):
    """GIVEN a connected user at Dataverse's request limit (no reserve kept, to reach it)
    WHEN a drain's request is refused with a Retry-After longer than it may wait
    THEN its items wait for after the Retry-After with their attempts untouched, nothing is
    resent early, and a drain is scheduled for then."""
    settings.DYNAMICS_BUDGET_RESERVE = 0
    messages = [
        message_send(seat=rep, member=MemberFactory(), body=body, copy_to_crm=True)
        for body in ("one", "two")
    ]
    _use_up(rep.contract, dynamics, limit=2, requests=2)

    assert drain_outbox(rep.contract_id) == 2

    connection = CrmConnection.objects.get(contract=rep.contract)
    assert connection.budget_retry_at > timezone.now() + timedelta(minutes=4)
    for message in messages:
        entry = OutboxEntry.objects.get(pk=message.delivery.pk)
        assert (entry.state, entry.attempts) == (OutboxState.RETRYING, 0)
        assert entry.last_error_kind == ErrorKind.API
        assert "Try again after" in entry.last_error_detail
        assert abs(entry.next_attempt_at - connection.budget_retry_at) < timedelta(seconds=2)
    windows = _windows(dynamics)
    assert (windows["throttled"], windows["early"]) == (1, 0)
    assert abs(_drain_schedule(rep.contract).next_run - connection.budget_retry_at) < timedelta(
        seconds=2
    )
    assert drain_outbox(rep.contract_id) == 0  # a drain before then sends nothing
    assert _windows(dynamics)["requests_in_window"] == windows["requests_in_window"]
