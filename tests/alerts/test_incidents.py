"""Each alert against the emulator: mailed once to the contract's Admin and Admin only seats when
it starts, however often it happens meanwhile; once more when it is back to normal; never to
those who muted it; and in one daily digest for those who chose that."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from alerts.models import Incident, Kind
from alerts.services import alert_preferences_update
from alerts.tasks import alerts_digest_due
from crm_settings.connect import connection_refresh_solution
from crm_settings.crm import open_client
from crm_settings.models import CrmConnection
from tests.alerts.conftest import PORTAL
from tests.conftest import INTEGRATION_USER
from tests.factories import MemberFactory, SeatFactory, copied_messages_bulk_create
from tests.writeback.conftest import ALEX, copy_everything, map_seats
from writeback.models import OutboxEntry, OutboxState
from writeback.outbox import outbox_retry
from writeback.tasks import drain_outbox

pytestmark = pytest.mark.emulator

ADMINS = ["admin@contoso.test", "adminonly@contoso.test"]


def _to(mails) -> list[str]:
    return sorted(address for mail in mails for address in mail.to)


def _subjects(mails) -> set[str]:
    return {mail.subject for mail in mails}


@pytest.fixture
def copying(crm_contract, monkeypatch):
    """``crm_contract`` copying every item type to the CRM."""
    copy_everything(crm_contract, monkeypatch)
    return crm_contract


def _deny_accounts(dynamics) -> None:
    dynamics.set_faults(deny={INTEGRATION_USER: ["account"]})


def test_a_failed_sync_is_mailed_once_then_back_to_normal_once(
    crm_contract, admin_only, seat_holder, outsider, dynamics, run_sync, check, mailoutbox
):
    _deny_accounts(dynamics)
    assert run_sync(crm_contract).state == "failed"
    check()

    assert _to(mailoutbox) == ADMINS  # not the seat holder, nor another contract's admin
    mail = mailoutbox[0]
    assert mail.subject == "[CRM Sync] Contoso Test: The sync with your CRM failed"
    assert "Your CRM account does not have sufficient access privileges." in mail.body
    assert "Next step: Connect with your internal CRM administrator" in mail.body
    assert f"Fix it on CRM Settings: {PORTAL}/admin-settings/crm/" in mail.body

    assert run_sync(crm_contract).state == "failed"
    check()
    assert len(mailoutbox) == 2  # the same incident: nothing more

    dynamics.reset_faults()
    assert run_sync(crm_contract).state == "succeeded"
    check()
    check()
    back = mailoutbox[2:]
    assert _to(back) == ADMINS
    assert _subjects(back) == {
        "[CRM Sync] Contoso Test: Back to normal: The sync with your CRM works again"
    }
    assert Incident.objects.get().resolution == Incident.Resolution.FIXED


def test_an_admin_who_muted_a_kind_gets_neither_of_its_mails(
    crm_contract, admin, admin_only, dynamics, run_sync, check, mailoutbox
):
    alert_preferences_update(
        seat=admin,
        wanted_kinds=set(Kind.values) - {Kind.SYNC_FAILED},
        daily_digest=False,
        by=admin.user,
    )
    _deny_accounts(dynamics)
    run_sync(crm_contract)
    check()
    dynamics.reset_faults()
    run_sync(crm_contract)
    check()

    assert _to(mailoutbox) == ["adminonly@contoso.test", "adminonly@contoso.test"]


def test_a_revoked_sign_in_is_one_incident_until_the_admin_connects_again(
    crm_contract, admin, admin_only, dynamics, connect_crm, run_sync, check, mailoutbox
):
    dynamics.expire_tokens(refresh=True)
    for _ in range(2):
        run = run_sync(crm_contract)
        assert (run.state, run.error_kind) == ("failed", "auth")
        check()

    # One mail each, about the sign-in: the failed syncs it caused are not a second alert.
    assert _to(mailoutbox) == ADMINS
    assert _subjects(mailoutbox) == {"[CRM Sync] Contoso Test: Your CRM sign-in stopped working"}
    assert "Your CRM sign-in has expired or was revoked." in mailoutbox[0].body

    assert connect_crm(admin).status_code == 302
    check()
    assert _subjects(mailoutbox[2:]) == {
        "[CRM Sync] Contoso Test: Back to normal: Your CRM sign-in works again"
    }
    assert len(mailoutbox) == 4


def test_failed_items_are_one_incident_however_many_fail(
    copying, admin_only, dynamics, check, mailoutbox
):
    # No CRM user has this email: the seat is Not Matched, so its items fail at once.
    seat = SeatFactory(contract=copying, user__email="nobody@contoso.test")
    map_seats(copying)
    copied_messages_bulk_create(seat=seat, members=[MemberFactory()], count=2)
    drain_outbox(copying.pk)
    check()

    assert _to(mailoutbox) == ADMINS
    assert _subjects(mailoutbox) == {
        "[CRM Sync] Contoso Test: 2 items could not be copied to your CRM"
    }
    body = mailoutbox[0].body
    assert "their seats are not matched to a CRM user" in body
    assert f"Fix it on Admin / Seat Management: {PORTAL}/seats/" in body

    copied_messages_bulk_create(seat=seat, members=[MemberFactory()], count=1)
    drain_outbox(copying.pk)
    check()
    assert len(mailoutbox) == 2
    assert Incident.objects.get().title == "3 items could not be copied to your CRM"

    for entry in OutboxEntry.objects.filter(state=OutboxState.FAILED):
        outbox_retry(entry=entry)  # each seat holder's *Retry*
    check()
    assert _subjects(mailoutbox[2:]) == {
        "[CRM Sync] Contoso Test: Back to normal: No items are failing to reach your CRM any more"
    }


def test_the_linkedin_app_leaving_the_crm_is_one_incident(
    copying, admin_only, linkedin_solution, check, mailoutbox
):
    SeatFactory(contract=copying, user__email=ALEX)
    map_seats(copying)
    seat = copying.seats.get(user__email=ALEX)
    copied_messages_bulk_create(seat=seat, members=[MemberFactory()], count=2)
    linkedin_solution.set_linkedin_solution(False)

    drain_outbox(copying.pk)  # li_messages is gone: the delivery finds the solution missing
    check()
    drain_outbox(copying.pk)
    check()

    assert _to(mailoutbox) == ADMINS
    assert _subjects(mailoutbox) == {
        "[CRM Sync] Contoso Test: The LinkedIn Sales Navigator app is missing from your CRM"
    }
    assert "InMails and messages wait, unsent, until it is back" in mailoutbox[0].body

    linkedin_solution.set_linkedin_solution(True)
    connection = CrmConnection.objects.get(contract=copying)
    with open_client(connection) as client:
        connection_refresh_solution(connection=connection, client=client)
    check()
    assert _subjects(mailoutbox[2:]) == {
        "[CRM Sync] Contoso Test: Back to normal: The LinkedIn Sales Navigator app is back in "
        "your CRM"
    }


def test_an_admin_on_the_daily_digest_gets_one_mail_a_day_instead(
    crm_contract, admin, admin_only, dynamics, run_sync, check, mailoutbox
):
    alert_preferences_update(
        seat=admin, wanted_kinds=set(Kind.values), daily_digest=True, by=admin.user
    )
    _deny_accounts(dynamics)
    run_sync(crm_contract)
    check()
    assert _to(mailoutbox) == ["adminonly@contoso.test"]

    alerts_digest_due()
    alerts_digest_due()  # the same day: nothing more
    [digest] = mailoutbox[1:]
    assert digest.to == ["admin@contoso.test"]
    assert digest.subject == "[CRM Sync] Contoso Test: Daily alert digest: 1 open alert"
    assert "Still open:\n\n- The sync with your CRM failed" in digest.body
    assert "Your CRM account does not have sufficient access privileges." in digest.body
    assert f"Fix it on CRM Settings: {PORTAL}/admin-settings/crm/" in digest.body

    dynamics.reset_faults()
    run_sync(crm_contract)
    check()
    assert _to(mailoutbox[2:]) == ["adminonly@contoso.test"]
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        alerts_digest_due()
    [digest] = mailoutbox[3:]
    assert (
        digest.subject == "[CRM Sync] Contoso Test: Daily alert digest: everything back to normal"
    )
    assert "Back to normal:\n\n- The sync with your CRM failed: from " in digest.body
    assert "Still open" not in digest.body
