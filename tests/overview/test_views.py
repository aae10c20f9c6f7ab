"""Admin > CRM Sync: who may open it, what it shows of whose contract, and that it neither asks
Dynamics nor writes anything."""

import re
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm_settings.models import AutoPause, CrmSettings
from sync.models import SyncRun
from tests.factories import (
    CrmConnectionFactory,
    CrmSettingsFactory,
    OutboxEntryFactory,
    SavedAccountFactory,
    SavedLeadFactory,
    SeatFactory,
    SyncRunFactory,
    overview_history_create,
    seats_bulk_create,
)

pytestmark = pytest.mark.django_db

URL = reverse("overview:index")
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _page(client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def _number(page: str, label: str) -> int:
    """The figure shown before ``label`` in the numbers panel."""
    found = re.search(
        r'<span class="number[^"]*">([\d,]+)</span> <span class="number-label">' + label, page
    )
    assert found, label
    return int(found.group(1).replace(",", ""))


@pytest.mark.parametrize("role", ["admin", "admin_only"])
def test_admins_open_it(request, login, role):
    page = _page(login(request.getfixturevalue(role)))
    assert "<h1>CRM Sync</h1>" in page


def test_seat_holders_may_not(login, seat_holder):
    assert login(seat_holder).get(URL).status_code == 403


def test_admins_land_on_it_and_the_admin_menu_has_it(login, admin, admin_only, seat_holder):
    assert login(admin).get(reverse("portal:home")).url == URL
    assert login(admin_only).get(reverse("portal:home")).url == URL
    assert login(seat_holder).get(reverse("portal:home")).url == reverse("network:accounts")
    menu = login(admin).get(reverse("network:accounts")).content.decode()
    assert f'<a href="{URL}">CRM Sync</a>' in menu


def test_not_connected_it_says_so_and_offers_to_connect(login, admin):
    page = _page(login(admin))
    assert "Not connected to a CRM." in page
    assert f'href="{reverse("crm_settings:index")}">Connect to CRM</a>' in page
    assert "None: not connected" in page


def test_the_status_says_where_the_integration_stands(login, admin, contract):
    CrmConnectionFactory(
        contract=contract,
        environment_url="https://contoso.crm.dynamics.com",
        budget_requests_remaining=4500,
        budget_requests_limit=6000,
        budget_observed_at=timezone.now(),
    )
    CrmSettingsFactory(
        contract=contract, writeback_enabled=True, writeback_all=False, writeback_notes=False
    )
    run = SyncRunFactory(contract=contract, state=SyncRun.State.SUCCEEDED, accounts_total=12,
                         accounts_matched=6, contacts_total=40, contacts_matched=10)  # fmt: skip
    SyncRun.objects.filter(pk=run.pk).update(finished_at=timezone.now())
    page = _page(login(admin))
    assert "https://contoso.crm.dynamics.com" in page
    assert '<span class="badge badge-ok">Succeeded</span>' in page
    assert reverse("sync:run", args=[run.pk]) in page
    assert "12 accounts, 40 contacts in the CRM" in page
    assert "(every 15 minutes)" in page
    assert '<span class="badge badge-ok">No</span>' in page  # not paused
    assert '<span class="badge badge-ok">On</span> InMails, Messages' in page
    assert "4,500 of 6,000 requests (75%)" in page  # the API budget gauge of CRM Settings
    for anchor in ("#status-heading", "#configure-heading", "#writeback-heading"):
        assert reverse("crm_settings:index") + anchor in page


def test_a_failed_sync_shows_the_guides_message(login, admin, contract):
    CrmConnectionFactory(contract=contract)
    SyncRunFactory(contract=contract, state=SyncRun.State.FAILED, error_kind="privilege",
                   finished_at=timezone.now())  # fmt: skip
    page = _page(login(admin))
    assert "Your CRM account does not have sufficient access privileges." in page


def test_a_retry_after_from_dynamics_shows_as_paused(login, admin, contract):
    CrmConnectionFactory(contract=contract, budget_retry_at=timezone.now() + timedelta(minutes=3))
    page = _page(login(admin))
    assert '<span class="badge badge-warn">Waiting</span>' in page
    assert "Dynamics asked the portal to pause its requests, until" in page


def test_an_auto_paused_sync_shows_as_paused_with_no_next_run(login, admin, contract):
    connection = CrmConnectionFactory(contract=contract)
    AutoPause.objects.create(
        connection=connection, part=AutoPause.Part.SYNC, failures=5, paused_at=timezone.now(),
        last_error_kind="privilege",
    )  # fmt: skip
    AutoPause.objects.create(connection=connection, part=AutoPause.Part.WRITEBACK, failures=2)
    page = _page(login(admin))
    assert '<span class="badge badge-error">Paused</span> Sync paused after 5 failures' in page
    assert "Last error: Your CRM account does not have sufficient access privileges." in page
    assert reverse("crm_settings:index") + "#alerts-heading" in page
    assert "Writeback paused" not in page  # counting, not paused
    assert "None while the sync is paused" in page


def test_writeback_off_says_off(login, admin, contract):
    CrmConnectionFactory(contract=contract)
    CrmSettings.objects.create(contract=contract, writeback_enabled=False)
    assert '<span class="badge badge-muted">Off</span>' in _page(login(admin))


def test_each_number_links_to_its_list(login, admin, contract, seat_holder):
    CrmConnectionFactory(contract=contract)
    SavedAccountFactory.create_batch(2, seat=seat_holder, imported=True)
    SavedAccountFactory(seat=seat_holder)  # saved by hand
    SavedLeadFactory(seat=seat_holder, imported=True)
    OutboxEntryFactory.create_batch(3, failed=True, message__thread__seat=seat_holder)
    OutboxEntryFactory(sent=True, written_open=True, message__thread__seat=seat_holder)
    OutboxEntryFactory(sent=True, message__thread__seat=seat_holder)
    page = _page(login(admin))
    assert _number(page, "Accounts imported from CRM") == 2
    assert _number(page, "Lead imported from CRM") == 1
    assert _number(page, "open unresolved task") == 1
    assert _number(page, "failed copies") == 3
    seats = reverse("seats:list")
    for link in (f"{seats}?crm=yes", f"{seats}?mapping=no", f"{seats}?sync=no",
                 f"{seats}?sort=-last_import", reverse("writeback:unresolved"),
                 reverse("writeback:failed")):  # fmt: skip
        assert f'href="{link}"' in page


def test_an_outsider_sees_only_their_own_contracts_numbers(login, contract, admin, outsider):
    """GIVEN a month of history and busy seats on ``contract``, a few on the outsider's
    THEN the outsider's overview counts only their own contract's."""
    holder = SeatFactory(contract=contract)
    CrmConnectionFactory(contract=contract, environment_url="https://contoso.crm.dynamics.com")
    seats_bulk_create(contract, 20)
    overview_history_create(contract, seat=holder)
    CrmConnectionFactory(
        contract=outsider.contract, environment_url="https://fabrikam.crm.dynamics.com"
    )
    OutboxEntryFactory(failed=True, message__thread__seat=SeatFactory(contract=outsider.contract))

    page = _page(login(outsider))

    assert "https://fabrikam.crm.dynamics.com" in page
    assert "contoso.crm.dynamics.com" not in page
    assert _number(page, "seats? in CRM") == 0
    assert _number(page, "Accounts imported from CRM") == 0
    assert _number(page, "open unresolved tasks") == 0
    assert _number(page, "failed copy") == 1
    # Their one failed copy is the only figure on their charts.
    assert page.count('<rect class="bar') == 1 and '<circle class="point' not in page
    assert "1 failed</title></rect>" in page
    assert page.count("Nothing yet in the last 30 days.") == 3
    # The contract's own admin sees their history.
    own = _page(login(admin))
    assert '<rect class="bar' in own
    assert "Nothing yet in the last 30 days." not in own


@pytest.mark.emulator
def test_it_asks_dynamics_nothing_and_writes_nothing(crm_contract, client, dynamics, admin):
    OutboxEntryFactory(failed=True, message__thread__seat=admin)
    client.get(URL)  # anything a first visit sets up (the session) is done
    dynamics.reset_stats()
    with CaptureQueriesContext(db_connection) as queries:
        page = _page(client)
    assert dynamics.base_url in page
    stats = dynamics.stats()
    assert stats["requests"] - stats["by_kind"].get("control", 0) == 0, stats["by_kind"]
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert writes == []


@pytest.mark.parametrize("scale", [1, 4])
def test_the_page_costs_the_same_queries_whatever_the_history(
    login, admin, contract, scale, django_assert_max_num_queries
):
    CrmConnectionFactory(contract=contract)
    seats_bulk_create(contract, 10 * scale)
    overview_history_create(contract, seat=SeatFactory(contract=contract), scale=scale)
    client = login(admin)
    client.get(URL)
    with django_assert_max_num_queries(24):
        page = _page(client)
    assert '<rect class="bar' in page


def test_the_charts_use_no_style_attribute_and_carry_their_text_alternatives(
    login, admin, contract
):
    CrmConnectionFactory(contract=contract)
    history = overview_history_create(contract, seat=SeatFactory(contract=contract), days=6)
    page = _page(login(admin))
    assert " style=" not in page and "<style" not in page
    assert page.count('role="img"') == 4
    for slug in ("runs", "requests", "match", "copies"):
        assert f'aria-labelledby="chart-{slug}-title chart-{slug}-desc"' in page
        assert f'<title id="chart-{slug}-title">' in page
        assert f'<desc id="chart-{slug}-desc">' in page
    # The runs chart's table: a row per day with runs.
    table = page.split('id="chart-runs"', 1)[1].split("</table>", 1)[0]
    assert table.count('<th scope="row">') == len(history.run_days)
