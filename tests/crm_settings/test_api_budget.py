"""The connection's API budget: stored from the client's readings, shown on CRM Settings, and the
busy message a page answers with at once when Dynamics asks for a long wait."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm_settings.crm import open_client
from crm_settings.models import CrmConnection
from tests.factories import CrmConnectionFactory

pytestmark = pytest.mark.django_db

INTEGRATION = "integration@contoso-demo.com"
REFRESH = "crm_settings:refresh_choices"
INDEX = "crm_settings:index"


def _windows(dynamics) -> dict:
    """The emulator's count for the Integration User (the connected user)."""
    user_id = dynamics.user(INTEGRATION)["systemuserid"]
    return dynamics.service_protection()["users"][user_id]


def _store(contract, **fields) -> CrmConnection:
    CrmConnection.objects.filter(contract=contract).update(**fields)
    return CrmConnection.objects.get(contract=contract)


@pytest.mark.emulator
def test_a_closing_client_stores_what_dynamics_said_is_left(crm_contract, dynamics):
    dynamics.reset_service_protection()  # an empty window: the limits are learned at once
    with open_client(crm_contract.crm_connection) as client:
        client.whoami()
        client.whoami()
    connection = CrmConnection.objects.get(contract=crm_contract)
    assert connection.budget_requests_remaining == 6000 - _windows(dynamics)["requests_in_window"]
    assert connection.budget_requests_remaining == 5998
    assert connection.budget_requests_limit == 6000
    assert 1199 < connection.budget_seconds_limit <= 1200
    assert connection.budget_seconds_remaining <= connection.budget_seconds_limit
    assert connection.budget_requests_sent == 2
    assert timezone.now() - connection.budget_observed_at < timedelta(minutes=1)
    assert connection.budget_retry_at is None
    assert connection.budget_share_left(now=timezone.now()) > 0.99


@pytest.mark.emulator
def test_a_long_running_client_stores_its_reading_as_it_goes(crm_contract, dynamics, monkeypatch):
    monkeypatch.setattr("crm_settings.crm.RECORD_EVERY_SECONDS", 0)
    with open_client(crm_contract.crm_connection) as client:
        client.whoami()
        stored = CrmConnection.objects.get(contract=crm_contract)
        assert stored.budget_requests_sent == 1
        assert stored.budget_requests_remaining is not None


@pytest.mark.emulator
def test_crm_settings_shows_the_gauge_from_what_is_stored(crm_contract, dynamics, client):
    """The gauge needs nothing from Dynamics: here Dynamics is out of reach altogether."""
    _store(
        crm_contract,
        budget_requests_remaining=4500,
        budget_requests_limit=6000,
        budget_seconds_remaining=1100.25,
        budget_seconds_limit=1200,
        budget_observed_at=timezone.now(),
        budget_requests_sent=1234,
    )
    dynamics.set_faults(unreachable=True, scope="api")
    page = client.get(reverse(INDEX)).content.decode()
    assert "Dynamics API budget" in page
    assert '<dt id="api-budget-1">Requests left</dt>' in page
    assert 'max="6000" value="4500"' in page and 'aria-labelledby="api-budget-1"' in page
    assert "4,500 of 6,000 requests (75%)" in page
    assert "1,100 of 1,200 seconds (91%)" in page
    assert "since connecting" in page
    assert "wait whenever less than 25% is left" in page


def _measured(left: int, *, ago: timedelta = timedelta(0)) -> dict:
    return {
        "budget_requests_remaining": left,
        "budget_requests_limit": 6000,
        "budget_observed_at": lambda now: now - ago,
    }


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({}, "Not measured yet"),
        (
            {"budget_retry_at": lambda now: now + timedelta(minutes=4)},
            "Dynamics asked the portal to pause until",
        ),
        (_measured(600), "Less than 25% is left, which the portal keeps for your own use"),
        (
            _measured(600, ago=timedelta(minutes=6)),
            "more than 5 minutes ago, so the budget has probably refilled since",
        ),
    ],
)
def test_the_gauge_says_what_the_stored_budget_means(contract, admin, login, fields, shown):
    now = timezone.now()
    values = {name: value(now) if callable(value) else value for name, value in fields.items()}
    # No CRM to read the settings' choices from: the page shows that error beside the gauge.
    CrmConnectionFactory(contract=contract, environment_url="https://127.0.0.1:9", **values)
    page = login(admin).get(reverse(INDEX)).content.decode()
    assert shown in page


@pytest.mark.emulator
def test_a_page_answers_at_once_when_dynamics_asks_for_a_long_wait(crm_contract, dynamics, client):
    """GIVEN a connected user over Dataverse's request limit (the connect flow filled it)
    WHEN an admin asks *Refresh from CRM*, which reads the pipeline choices from Dynamics
    THEN the page says the CRM is busy and when to try again, without resending, and the next
    refresh sends nothing at all before the Retry-After ends."""
    dynamics.set_service_protection(requests=1)
    page = client.post(reverse(REFRESH), follow=True).content.decode()
    assert "Your CRM is busy: it asked the portal to pause its requests for a while." in page
    assert "Try again after" in page
    assert _windows(dynamics)["throttled"] == 1  # one refusal, not resent
    connection = CrmConnection.objects.get(contract=crm_contract)
    assert connection.budget_retry_at > timezone.now() + timedelta(minutes=4)
    assert connection.last_error_kind == ""  # being asked to wait is not a connection error

    sent = _windows(dynamics)["requests_in_window"]
    again = client.post(reverse(REFRESH), follow=True).content.decode()
    assert "Your CRM is busy" in again
    assert "Dynamics asked the portal to pause until" in again
    assert _windows(dynamics)["requests_in_window"] == sent  # nothing was sent
    assert _windows(dynamics)["early"] == 0
