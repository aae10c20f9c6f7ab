"""The minute's check and the mails, without a CRM: what the lower apps recorded is enough."""

import pytest
from django.core.checks import run_checks
from django.utils import timezone

from alerts.mail import CLEARED, OPENED, incident_mail_send
from alerts.models import Incident, Kind
from crm_settings.messages import THROTTLED
from crm_settings.models import AutoPause, CrmConnection
from crm_settings.pausing import pause_failure_record
from tests.factories import (
    CrmConnectionFactory,
    CrmSettingsFactory,
    IncidentFactory,
    OutboxEntryFactory,
    SeatFactory,
    SyncRunFactory,
)

pytestmark = pytest.mark.django_db


def _all_wrong(contract) -> None:
    """Every kind of trouble at once on ``contract``."""
    connection = CrmConnectionFactory(
        contract=contract,
        status=CrmConnection.Status.ERROR,
        last_error_kind="auth",
        linkedin_solution_installed=False,
    )
    CrmSettingsFactory(contract=contract, writeback=True)
    SyncRunFactory(contract=contract, state="failed", error_kind="api", finished_at=timezone.now())
    for part in AutoPause.Part:
        AutoPause.objects.create(
            connection=connection, part=part, failures=5, paused_at=timezone.now()
        )
    OutboxEntryFactory(failed=True, seat=SeatFactory(contract=contract))


def test_every_kind_opens_once_per_contract(contract, admin, check):
    _all_wrong(contract)
    changes = check()
    assert len(changes.opened) == len(Kind)
    assert set(Incident.objects.values_list("kind", flat=True)) == set(Kind.values)
    assert check().opened == []


@pytest.mark.parametrize("contracts", [2, 6])
def test_the_check_costs_the_same_queries_for_any_number_of_contracts(
    contracts, check, django_assert_num_queries
):
    for _ in range(contracts):
        _all_wrong(SeatFactory(admin=True).contract)
    check()  # opens them all
    # Six reads (five kinds of trouble, the open incidents), in the test's savepoint.
    with django_assert_num_queries(8):
        check()


def test_a_disconnected_contracts_incidents_end_without_a_mail(contract, admin, check, mailoutbox):
    CrmConnectionFactory(contract=contract, status=CrmConnection.Status.ERROR)
    check()
    assert len(mailoutbox) == 1

    CrmConnection.objects.filter(contract=contract).delete()
    changes = check()

    assert changes.closed and not changes.cleared
    assert Incident.objects.get().resolution == Incident.Resolution.DISCONNECTED
    assert len(mailoutbox) == 1


def test_each_mail_goes_once_even_when_its_task_runs_twice(contract, admin, mailoutbox):
    incident = IncidentFactory(contract=contract)
    assert incident_mail_send(incident_id=incident.pk, event=OPENED) == 1
    assert incident_mail_send(incident_id=incident.pk, event=OPENED) == 0
    Incident.objects.filter(pk=incident.pk).update(cleared_at=timezone.now(), resolution="fixed")
    assert incident_mail_send(incident_id=incident.pk, event=CLEARED) == 1
    assert incident_mail_send(incident_id=incident.pk, event=CLEARED) == 0
    assert len(mailoutbox) == 2


def test_an_opening_over_before_its_mail_went_is_not_mailed_nor_its_end(
    contract, admin, mailoutbox
):
    incident = IncidentFactory(contract=contract, cleared_at=timezone.now(), resolution="fixed")
    assert incident_mail_send(incident_id=incident.pk, event=OPENED) == 0
    assert incident_mail_send(incident_id=incident.pk, event=CLEARED) == 0
    assert mailoutbox == []


def test_a_mail_the_server_refused_is_sent_by_the_tasks_retry(contract, admin, settings):
    incident = IncidentFactory(contract=contract)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    with pytest.raises(OSError):
        incident_mail_send(incident_id=incident.pk, event=OPENED)
    incident.refresh_from_db()
    assert incident.opened_mailed_at is None  # the claim was given back

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert incident_mail_send(incident_id=incident.pk, event=OPENED) == 1


def test_inactive_accounts_and_seat_holders_get_no_alert(contract, admin, mailoutbox):
    SeatFactory(contract=contract, admin_only=True, user__is_active=False)
    SeatFactory(contract=contract, user__email="rep@contoso.test")
    incident_mail_send(incident_id=IncidentFactory(contract=contract).pk, event=OPENED)
    assert [mail.to for mail in mailoutbox] == [["admin@contoso.test"]]


def test_without_a_portal_address_the_mail_names_the_page(contract, admin, settings, mailoutbox):
    settings.PORTAL_BASE_URL = ""
    incident_mail_send(incident_id=IncidentFactory(contract=contract).pk, event=OPENED)
    body = mailoutbox[0].body
    assert "Fix it on CRM Settings in CRM Sync (Admin menu)." in body
    assert "http" not in body
    warnings = run_checks(include_deployment_checks=True)
    assert "alerts.W001" in {warning.id for warning in warnings}


def test_the_mail_carries_the_guides_words_and_an_absolute_link(contract, admin, mailoutbox):
    incident_mail_send(incident_id=IncidentFactory(contract=contract).pk, event=OPENED)
    [mail] = mailoutbox
    assert mail.subject == "[CRM Sync] Contoso Test: The sync with your CRM failed"
    assert mail.from_email == "CRM Sync <crm-sync@localhost>"
    assert "The CRM API reported an error. Please try again later." in mail.body
    assert "Next step: Error with your API access" in mail.body
    assert "Fix it on CRM Settings: https://crm-sync.example.test/admin-settings/crm/" in mail.body
    assert "https://crm-sync.example.test/admin-settings/alerts/" in mail.body
    assert "&#x27;" not in mail.body  # plain text, not HTML-escaped


def test_dynamics_asking_to_wait_is_neither_an_alert_nor_a_failure_in_a_row(contract, admin, check):
    """A run stopped by service protection's Retry-After goes on by itself after it: nothing to
    tell an admin, nothing to count towards auto-pause."""
    connection = CrmConnectionFactory(contract=contract)
    SyncRunFactory(
        contract=contract, state="failed", error_kind=THROTTLED, finished_at=timezone.now()
    )
    assert check().opened == []
    for part in AutoPause.Part:
        assert not pause_failure_record(
            contract_id=contract.pk, part=part, kind=THROTTLED, detail="Retry after 300 s"
        )
    assert not AutoPause.objects.filter(connection=connection, failures__gt=0).exists()
