"""The import and the API budget: scheduled runs leave the reserve to the connected user, and a
run told to wait longer than it can is started again after the server's Retry-After."""

import ast
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_q.models import Schedule

from crm_settings.crm import open_client
from crm_settings.models import BUDGET_WINDOW, CrmConnection
from sync.models import SyncRun
from sync.tasks import SYNC_RUN, sync_due_contracts, sync_run
from tests.factories import CrmConnectionFactory

pytestmark = pytest.mark.django_db

INTEGRATION = "integration@contoso-demo.com"


def _windows(crm) -> dict:
    user_id = crm.user(INTEGRATION)["systemuserid"]
    return crm.service_protection()["users"][user_id]


def _use_up(contract, crm, *, limit: int, requests: int) -> CrmConnection:
    """Lower the org's request limit and send ``requests`` through the portal's client."""
    crm.reset_service_protection()  # an empty window, so the limit is learned from one answer
    crm.set_service_protection(requests=limit)
    with open_client(contract.crm_connection) as client:
        for _ in range(requests):
            client.whoami()
    return CrmConnection.objects.get(contract=contract)


def _retry_schedule(contract) -> Schedule:
    return Schedule.objects.get(name=f"budget: sync of contract {contract.pk}")


@pytest.mark.emulator
def test_a_scheduled_sync_waits_while_less_than_the_reserve_is_left(
    connected, crm, monkeypatch, django_capture_on_commit_callbacks
):
    """GIVEN 1 of 8 requests left (12.5%, under the 25% reserve)
    WHEN the minute tick and a scheduled run's task come
    THEN neither sends anything: the run is started again once the window has moved on, and a
    person's *Sync now* still goes ahead."""
    connection = _use_up(connected, crm, limit=8, requests=7)
    assert (connection.budget_requests_remaining, connection.budget_requests_limit) == (1, 8)
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: enqueued.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        assert sync_due_contracts() == []
    assert sync_run(connected.pk, SyncRun.Trigger.SCHEDULE).startswith("waiting for the API budget")

    assert enqueued == []
    assert not SyncRun.objects.filter(contract=connected).exists()
    assert _windows(crm)["requests_in_window"] == 7  # nothing was sent
    retry = _retry_schedule(connected)
    assert retry.func == SYNC_RUN
    assert ast.literal_eval(retry.args) == (connected.pk, SyncRun.Trigger.SCHEDULE, False)
    assert retry.next_run == connection.budget_observed_at + BUDGET_WINDOW
    later = connection.budget_observed_at + BUDGET_WINDOW + timedelta(seconds=1)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert sync_due_contracts() == [connected.pk]
    assert enqueued == [(SYNC_RUN, connected.pk, SyncRun.Trigger.SCHEDULE)]

    crm.set_service_protection(requests=6000)
    assert sync_run(connected.pk, SyncRun.Trigger.MANUAL).endswith("succeeded")


@pytest.mark.emulator
def test_a_run_told_to_wait_longer_than_it_can_is_started_again_after_retry_after(
    connected, crm, run_sync
):
    """GIVEN an org whose request limit the import passes (3 requests per 5 minutes)
    WHEN the import is refused with a Retry-After longer than the 2 minutes it may wait
    THEN the run fails with the busy message, nothing is resent early, and a run is scheduled
    for when the Retry-After ends."""
    crm.reset_service_protection()
    crm.set_service_protection(requests=3)

    run = run_sync(connected, SyncRun.Trigger.SCHEDULE)

    assert run.state == SyncRun.State.FAILED
    assert run.error_kind == "throttled"
    assert "Try again after" in run.error_detail
    windows = _windows(crm)
    assert (windows["throttled"], windows["early"]) == (1, 0)
    connection = CrmConnection.objects.get(contract=connected)
    assert connection.budget_retry_at > timezone.now() + timedelta(minutes=4)
    assert connection.last_error_kind == ""
    retry = _retry_schedule(connected)
    assert ast.literal_eval(retry.args)[:2] == (connected.pk, SyncRun.Trigger.SCHEDULE)
    assert abs(retry.next_run - connection.budget_retry_at) < timedelta(seconds=2)


@pytest.mark.parametrize("trigger", [SyncRun.Trigger.SCHEDULE, SyncRun.Trigger.MANUAL])
def test_nothing_starts_before_a_stored_retry_after_ends(contract, monkeypatch, trigger):
    retry_at = timezone.now() + timedelta(minutes=3)
    CrmConnectionFactory(contract=contract, budget_retry_at=retry_at)
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: pytest.fail("queued"))
    assert sync_due_contracts() == []
    answer = sync_run(contract.pk, trigger)
    assert answer == f"waiting for the API budget until {retry_at.isoformat()}"
    assert _retry_schedule(contract).next_run == retry_at
    assert not SyncRun.objects.exists()
