"""Auto-pause against the emulator: after N failures in a row the sync (or writeback) stops
itself, CRM Settings says so with the last error and a Resume button, the schedule leaves it
alone, and resuming starts the work again; writeback's paused items are all delivered then."""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm_settings.models import AutoPause, CrmSettings
from seats.models import AuditEntry
from sync.models import SyncRun
from sync.selectors import contracts_due_for_sync
from sync.tasks import sync_due_contracts, sync_run
from tests.alerts.conftest import PORTAL
from tests.conftest import INTEGRATION_USER
from tests.dynamics.contract_support import FAST
from tests.factories import MemberFactory, SeatFactory, copied_messages_bulk_create
from tests.writeback.conftest import ALEX, copy_everything, map_seats
from writeback.models import OutboxEntry, OutboxState
from writeback.outbox import outbox_due_contract_ids
from writeback.tasks import drain_due_outboxes, drain_outbox

pytestmark = pytest.mark.emulator


def _pause_after(client, failures: int):
    response = client.post(
        reverse("crm_settings:save_pause_settings"), {"pause_after_failures": str(failures)}
    )
    assert response.status_code == 302
    return response


def _sync_pause(contract) -> AutoPause:
    return AutoPause.objects.get(connection__contract=contract, part=AutoPause.Part.SYNC)


def test_the_sync_pauses_after_n_failures_and_resumes_on_request(
    crm_contract, client, dynamics, run_sync, check, mailoutbox, django_capture_on_commit_callbacks
):
    """GIVEN a contract whose admin set auto-pause to 3 failures in a row, and a CRM that
    refuses to let the import read accounts
    WHEN three syncs fail
    THEN the sync is paused: CRM Settings says *Paused after 3 failures* with the last error,
    the schedule and the tasks skip it, *Sync now* says it is paused, admins get one mail;
    and *Resume sync* (audited) starts a sync that succeeds once the CRM is fixed."""
    _pause_after(client, 3)
    assert CrmSettings.objects.get(contract=crm_contract).pause_after_failures == 3
    dynamics.set_faults(deny={INTEGRATION_USER: ["account"]})
    later = timezone.now() + timezone.timedelta(days=1)

    for failures in (1, 2):
        assert run_sync(crm_contract).state == "failed"
        assert _sync_pause(crm_contract).failures == failures
        assert _sync_pause(crm_contract).paused_at is None
        assert crm_contract.pk in contracts_due_for_sync(now=later)
    assert run_sync(crm_contract).state == "failed"

    pause = _sync_pause(crm_contract)
    assert pause.paused_at is not None and pause.failures == 3
    assert AuditEntry.objects.filter(action="crm.sync.paused", actor=None).count() == 1
    assert crm_contract.pk not in contracts_due_for_sync(now=later)
    assert sync_due_contracts() == []
    runs = SyncRun.objects.count()
    assert sync_run(crm_contract.pk, "settings") == "paused after failures in a row"

    page = client.get(reverse("crm_settings:index")).content.decode()
    assert "Paused after 3 failures" in page
    assert "Your CRM account does not have sufficient access privileges." in page
    assert "Resume sync" in page

    response = client.post(reverse("sync:sync_now"), follow=True)
    assert "The sync is paused after 3 failures in a row, so nothing was started." in (
        response.content.decode()
    )
    htmx = client.post(reverse("sync:sync_now"), headers={"HX-Request": "true"})
    assert htmx.headers["HX-Refresh"] == "true"
    assert SyncRun.objects.count() == runs

    check()
    paused_mails = [m for m in mailoutbox if "paused itself" in m.subject]
    assert [m.subject for m in paused_mails] == [
        "[CRM Sync] Contoso Test: The sync paused itself after 3 failures in a row"
    ]
    assert "Then select Resume sync on CRM Settings" in paused_mails[0].body
    assert f"{PORTAL}/admin-settings/crm/" in paused_mails[0].body

    dynamics.reset_faults()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("crm_settings:resume_sync"), follow=True)
    assert "Sync resumed: a sync has started." in response.content.decode()
    assert _sync_pause(crm_contract).paused_at is None
    assert SyncRun.objects.order_by("-pk").first().state == "succeeded"
    resumed = AuditEntry.objects.get(action="crm.sync.resume")
    assert resumed.actor == crm_contract.seats.get(user__email="admin@contoso.test").user
    assert resumed.before["failures"] == 3
    assert "Paused after" not in client.get(reverse("crm_settings:index")).content.decode()

    before = len(mailoutbox)
    check()
    assert {m.subject for m in mailoutbox[before:]} == {
        "[CRM Sync] Contoso Test: Back to normal: The sync runs again",
        "[CRM Sync] Contoso Test: Back to normal: The sync with your CRM works again",
    }


def test_a_success_starts_the_count_of_failures_again(crm_contract, client, dynamics, run_sync):
    _pause_after(client, 2)
    dynamics.set_faults(deny={INTEGRATION_USER: ["account"]})
    run_sync(crm_contract)
    dynamics.reset_faults()
    run_sync(crm_contract)
    dynamics.set_faults(deny={INTEGRATION_USER: ["account"]})
    run_sync(crm_contract)

    pause = _sync_pause(crm_contract)
    assert (pause.failures, pause.paused_at) == (1, None)


@pytest.fixture
def copying_rep(crm_contract, monkeypatch):
    """Alex Morgan's seat on ``crm_contract``, mapped to his CRM user, copying everything."""
    copy_everything(crm_contract, monkeypatch)
    seat = SeatFactory(contract=crm_contract, user__email=ALEX)
    map_seats(crm_contract)
    return seat


def _due_now(contract) -> None:
    """The retries' time has come."""
    OutboxEntry.objects.filter(contract=contract).exclude(state=OutboxState.SENT).update(
        next_attempt_at=timezone.now()
    )


def test_writeback_pauses_after_n_failed_drains_keeps_the_items_and_delivers_them_on_resume(
    copying_rep,
    client,
    dynamics,
    monkeypatch,
    check,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    """GIVEN auto-pause at 2 failures, copied items, and a CRM out of reach
    WHEN two drains in a row cannot deliver
    THEN writeback is paused: nothing is claimed, not by the sweep, a drain task or a new item,
    every item stays in the outbox, CRM Settings shows *Writeback paused after 2 failures*;
    and *Resume writeback* delivers every one of them once the CRM answers again."""
    contract = copying_rep.contract
    monkeypatch.setattr("dynamics.client.RetryPolicy", lambda: FAST)
    _pause_after(client, 2)
    copied_messages_bulk_create(seat=copying_rep, members=[MemberFactory()], count=3)
    dynamics.set_faults(unreachable=True, scope="api")

    assert drain_outbox(contract.pk) == 3
    _due_now(contract)
    assert drain_outbox(contract.pk) == 3

    pause = AutoPause.objects.get(connection__contract=contract, part=AutoPause.Part.WRITEBACK)
    assert pause.paused_at is not None and pause.last_error_kind == "connect"
    copied_messages_bulk_create(seat=copying_rep, members=[MemberFactory()], count=1)
    _due_now(contract)
    assert contract.pk not in outbox_due_contract_ids()
    assert drain_due_outboxes() == 0
    assert drain_outbox(contract.pk) == 0
    assert OutboxEntry.objects.filter(contract=contract).count() == 4
    assert not OutboxEntry.objects.filter(state__in=[OutboxState.FAILED, OutboxState.SENT])

    page = client.get(reverse("crm_settings:index")).content.decode()
    assert "Writeback paused after 2 failures" in page
    assert "Could not connect to CRM. Please try again later." in page
    assert "Resume writeback" in page
    check()
    assert {m.subject for m in mailoutbox} == {
        "[CRM Sync] Contoso Test: Writeback paused itself after 2 failures in a row"
    }
    assert "items wait in the outbox until you do, and nothing is lost" in mailoutbox[0].body

    dynamics.reset_faults()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("crm_settings:resume_writeback"), follow=True)
    assert "Writeback resumed" in response.content.decode()

    entries = OutboxEntry.objects.filter(contract=contract)
    assert {entry.state for entry in entries} == {OutboxState.SENT}
    in_crm = {row["activityid"] for row in dynamics.rows("li_messages", top=100_000)}
    assert {str(entry.activity_id) for entry in entries} <= in_crm
    assert AuditEntry.objects.filter(action="crm.writeback.resume").count() == 1
    check()
    assert "Back to normal: Writeback runs again" in mailoutbox[-1].subject


def test_only_admins_resume_and_only_by_post(login, crm_contract, seat_holder, admin_only):
    for name in ("crm_settings:resume_sync", "crm_settings:resume_writeback"):
        assert login(seat_holder).post(reverse(name)).status_code == 403
        assert login(admin_only).get(reverse(name)).status_code == 405
        response = login(admin_only).post(reverse(name), follow=True)
        assert "was not paused; nothing to resume." in response.content.decode()


def test_the_failure_limit_refuses_nonsense(client, crm_contract):
    for value in ("0", "101", "many"):
        response = client.post(
            reverse("crm_settings:save_pause_settings"),
            {"pause_after_failures": value},
            follow=True,
        )
        assert "Pause after this many failures in a row:" in response.content.decode()
    assert CrmSettings.objects.get(contract=crm_contract).pause_after_failures == 5
