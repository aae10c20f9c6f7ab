"""Connecting to Dynamics through the real sign-in flow, against the emulator over HTTPS."""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm_settings.models import CrmConnection
from crm_settings.views import CONNECTED
from seats.models import AuditEntry
from tests.conftest import PORTAL_HOST
from tests.factories import SyncRunFactory

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]


def _start(client, dynamics):
    return client.post(
        reverse("crm_settings:connect"),
        {"environment_url": dynamics.base_url},
        headers={"host": PORTAL_HOST},
    )


def _messages(response):
    return [str(m) for m in response.wsgi_request._messages]


def test_an_admin_connects_through_the_sign_in_page(
    connect_crm, admin, contract, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = connect_crm(admin)
    assert response.status_code == 302
    assert _messages(response) == [CONNECTED]
    connection = CrmConnection.objects.get(contract=contract)
    assert connection.crm_user_name == "Integration User"
    assert connection.crm_user_email == "integration@contoso-demo.com"
    assert connection.linkedin_solution_installed is True
    assert connection.can_impersonate is True
    assert connection.connected_by == admin.user
    assert set(connection.preflight["tables"]) == {
        "systemuser",
        "account",
        "contact",
        "opportunity",
    }
    assert all(t["change_tracking"] for t in connection.preflight["tables"].values())
    # What CRM Settings offers is read here and stored, so the page never asks the CRM.
    assert [o["label"] for o in connection.stage_options] == [
        "Qualify", "Develop", "Propose", "Close",
    ]  # fmt: skip
    assert {"actualvalue", "estimatedvalue", "new_wonamount"} <= {
        c["logical_name"] for c in connection.money_columns
    }
    assert connection.choices_read_at is not None
    assert "RefreshToken" in connection.token_cache
    assert "RefreshToken" not in connection.token_cache_encrypted
    assert AuditEntry.objects.filter(action="crm.connect", contract=contract).count() == 1
    assert len(callbacks) == 1  # the first import is enqueued once the connection is saved

    page = _client_page(response)
    assert "Connected to Microsoft Dynamics" in page
    assert "Each seat holder (the portal acts on their behalf)" in page


def _client_page(response):
    return response.client.get(reverse("crm_settings:index")).content.decode()


def test_a_user_without_the_delegate_privilege_is_creator_of_writebacks(
    connect_crm, admin, contract
):
    response = connect_crm(admin, as_email="admin@contoso-demo.com")
    connection = CrmConnection.objects.get(contract=contract)
    assert connection.crm_user_name == "Dana Admin"
    assert connection.can_impersonate is False
    assert "cannot act on behalf of others" in _client_page(response)


def test_cancelling_the_sign_in_changes_nothing(client, dynamics, admin, contract):
    client.force_login(admin.user)
    started = _start(client, dynamics)
    params = dynamics.sign_in(started.url, cancel=True)
    response = client.get(reverse("crm_settings:callback"), params)
    assert "cancelled" in _messages(response)[0]
    assert not CrmConnection.objects.filter(contract=contract).exists()


def test_a_tampered_state_is_refused(client, dynamics, admin, contract):
    client.force_login(admin.user)
    started = _start(client, dynamics)
    params = dynamics.sign_in(started.url, "integration@contoso-demo.com")
    params["state"] = "forged-" + params["state"]
    response = client.get(reverse("crm_settings:callback"), params)
    assert "does not belong to the sign-in that was started" in _messages(response)[0]
    assert not CrmConnection.objects.filter(contract=contract).exists()


def test_a_callback_nobody_started_is_refused(login, admin, contract, dynamics):
    response = login(admin).get(reverse("crm_settings:callback"), {"code": "x", "state": "y"})
    assert "not started from this page" in _messages(response)[0]
    assert not CrmConnection.objects.filter(contract=contract).exists()


def test_a_refused_environment_url_makes_no_request(login, admin, dynamics):
    dynamics.reset_stats()
    response = login(admin).post(
        reverse("crm_settings:connect"), {"environment_url": "https://evil.example.com"}
    )
    assert response.status_code == 400
    assert "is not a Dynamics 365 environment" in response.content.decode()
    by_kind = dynamics.stats()["by_kind"]
    assert set(by_kind) <= {"control"}  # only this test's own call to the control endpoint


@pytest.mark.parametrize(
    ("faults", "as_email", "message", "detail"),
    [
        (
            {"unreachable": True},
            "integration@contoso-demo.com",
            "Could not connect to CRM. Please try again later.",
            "",
        ),
        (
            {"error_rate": 1.0, "scope": "api", "retry_after": 0},
            "integration@contoso-demo.com",
            "The CRM API reported an error. Please try again later.",
            "HTTP 5",
        ),
        (
            {},
            "readonly@contoso-demo.com",
            "Your CRM account does not have sufficient access privileges.",
            "HTTP 403",
        ),
        (
            {"missing_tables": ["opportunity"]},
            "integration@contoso-demo.com",
            "Could not read the required CRM objects from your org.",
            "opportunit",
        ),
    ],
    ids=["unreachable", "5xx", "privilege", "missing-table"],
)
def test_failures_show_the_guides_message_and_next_step(
    client, dynamics, admin, contract, faults, as_email, message, detail
):
    client.force_login(admin.user)
    started = _start(client, dynamics)
    params = dynamics.sign_in(started.url, as_email)
    dynamics.set_faults(**faults)
    response = client.get(reverse("crm_settings:callback"), params)
    shown = _messages(response)[0]
    assert shown.startswith(message)
    assert "Next step:" in shown
    assert detail in shown
    assert not CrmConnection.objects.filter(contract=contract).exists()


def test_reconnecting_as_another_user_keeps_imported_data(connect_crm, admin, contract, client):
    from sync.models import CrmAccount
    from tests.factories import CrmAccountFactory

    connect_crm(admin, as_email="admin@contoso-demo.com")
    CrmAccountFactory.create_batch(2, contract=contract)
    client.post(reverse("crm_settings:disconnect"), {})  # without clean-up
    assert not CrmConnection.objects.filter(contract=contract).exists()
    connect_crm(admin, as_email="integration@contoso-demo.com")
    connection = CrmConnection.objects.get(contract=contract)
    assert connection.crm_user_name == "Integration User"
    assert CrmAccount.objects.filter(contract=contract).count() == 2
    actions = list(
        AuditEntry.objects.filter(contract=contract, action__startswith="crm.")
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )
    assert actions == ["crm.connect", "crm.disconnect", "crm.connect"]


def test_every_change_needs_the_csrf_token(admin, contract, dynamics):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user)
    for name in ("crm_settings:connect", "crm_settings:save_sync_settings",
                 "crm_settings:save_writeback_settings", "crm_settings:refresh_choices",
                 "crm_settings:disconnect"):  # fmt: skip
        assert client.post(reverse(name), {}).status_code == 403


def test_once_the_first_sync_succeeded_nothing_says_it_is_in_progress(connect_crm, admin, client):
    """The connect step's notice used to repeat the status panel's "sync in progress", and stayed
    on the page after the panel had moved on to *Succeeded*."""
    connect_crm(admin)
    SyncRunFactory(contract=admin.contract, state="succeeded", finished_at=timezone.now())
    page = client.get(reverse("crm_settings:index")).content.decode()
    panel = client.get(reverse("sync:status")).content.decode()  # loaded into the page by htmx
    assert "The first sync has started" in page  # the connect step's notice, shown once
    assert "Succeeded" in panel
    assert "Successfully connected, sync in progress" not in page + panel
