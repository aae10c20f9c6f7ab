"""The rest of what a newcomer met, checked in a real browser: the favicon, the staff admin's
wording and read-only mirror, a sent outbox item's next attempt, Seat Management's seat count,
*Assign seats from CRM*'s select-all and its left-out users, the connect notice once the first
sync succeeded, and resolving a member's other open items with one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.a11y import assert_accessible
from tests.browser_fixtures import login_page
from tests.factories import (
    CrmConnectionFactory,
    CrmUserFactory,
    MemberFactory,
    OutboxEntryFactory,
    SeatFactory,
    SyncRunFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_favicon_ico_loads_an_image(page, live_server):
    response = page.goto(f"{live_server.url}/favicon.ico")
    assert response.status == 200
    assert response.url == f"{live_server.url}/static/favicon.svg"
    assert response.headers["content-type"].startswith("image/")
    assert response.request.redirected_from.url == f"{live_server.url}/favicon.ico"


def test_the_staff_admin_says_record_matches_and_the_crm_mirror_has_no_add(page, live_server):
    login_page(page, live_server, UserFactory(is_staff=True, is_superuser=True))
    page.goto(f"{live_server.url}/admin/")
    assert page.get_by_role("link", name="Record matches", exact=True).is_visible()
    assert page.get_by_text("Record matchs").count() == 0
    for model, name in (
        ("crmuser", "CRM users"),
        ("crmaccount", "CRM accounts"),
        ("crmcontact", "CRM contacts"),
        ("crmopportunity", "CRM opportunities"),
    ):
        row = page.locator(f"tr.model-{model}")
        assert row.get_by_role("link", name=name, exact=True).is_visible()
        assert row.get_by_role("link", name="Add").count() == 0
        row.get_by_role("link", name=name, exact=True).click()
        page.wait_for_url(f"{live_server.url}/admin/sync/{model}/")
        assert page.locator("#content").get_by_role("link", name="Add").count() == 0, model
        page.go_back()


def test_a_sent_outbox_item_shows_no_next_attempt_in_the_staff_admin(
    page, live_server, seat_holder
):
    from writeback.models import OutboxState

    lease_end = timezone.now() + timedelta(minutes=15)
    sent = OutboxEntryFactory(
        message__thread__seat=seat_holder, sent=True, next_attempt_at=lease_end
    )
    OutboxEntryFactory(
        message__thread__seat=seat_holder,
        state=OutboxState.RETRYING,
        next_attempt_at=timezone.now() + timedelta(minutes=2),
    )
    login_page(page, live_server, UserFactory(is_staff=True, is_superuser=True))
    page.goto(f"{live_server.url}/admin/writeback/outboxentry/")
    headers = [t.strip().upper() for t in page.locator("#result_list thead th").all_inner_texts()]
    column = next(i for i, text in enumerate(headers) if text.startswith("NEXT ATTEMPT")) + 1
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    cells = {}
    for index in range(rows.count()):
        row = rows.nth(index)
        state = row.inner_text()
        cells["sent" if "Sent" in state else "retrying"] = (
            row.locator(f"> :nth-child({column})").inner_text().strip()
        )
    assert cells["sent"] in ("-", "—")
    assert cells["retrying"] not in ("-", "—", "")

    page.goto(f"{live_server.url}/admin/writeback/outboxentry/{sent.pk}/change/")
    field = page.locator(".form-row", has=page.locator("label", has_text="Next attempt"))
    assert field.locator(".readonly").inner_text().strip() == "—"
    assert page.get_by_text("Next attempt at:").count() == 0


def test_the_seat_count_says_admin_only_seats_do_not_count(
    page, live_server, admin, admin_only, seat_holder
):
    login_page(page, live_server, admin.user)
    page.goto(f"{live_server.url}/seats/")
    seats = page.locator("dt", has_text="Seats").locator("xpath=following-sibling::dd[1]")
    text = " ".join(seats.inner_text().split())
    assert "2 of 25 purchased seats in use (Admin and Seat holder roles)." in text
    assert "The 1 Admin only seat listed does not count" in text
    assert page.locator("table tbody tr").count() == 3
    assert_accessible(page)


def test_assign_from_crm_offers_people_not_the_integration_user(page, live_server, admin):
    from sync.models import CrmUser

    contract = admin.contract
    CrmConnectionFactory(contract=contract)
    CrmUserFactory(contract=contract, full_name="Jordan Kim", email="jordan.kim@contoso.test")
    CrmUserFactory(
        contract=contract,
        full_name="Integration User",
        email="integration@contoso.test",
        access_mode=CrmUser.AccessMode.NON_INTERACTIVE,
    )
    CrmUserFactory(
        contract=contract,
        full_name="Portal App",
        email="app@contoso.test",
        is_application_user=True,
    )
    login_page(page, live_server, admin.user)
    page.goto(f"{live_server.url}/seats/assign/")
    offered = page.locator("table tbody tr")
    assert offered.count() == 1
    assert "jordan.kim@contoso.test" in offered.inner_text()
    select_all = page.get_by_label("The 1 person, not only the ticked ones")
    assert select_all.is_visible()
    assert page.get_by_text("All 1 people").count() == 0
    assert_accessible(page)

    page.get_by_label("Also show application, non-interactive and support users").check()
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    emails = " ".join(page.locator("table tbody tr").all_inner_texts())
    for email in ("jordan.kim@contoso.test", "integration@contoso.test", "app@contoso.test"):
        assert email in emails
    assert (
        page.locator("table tbody tr", has_text="Integration User")
        .get_by_text("Non-interactive")
        .is_visible()
    )
    assert page.get_by_label("All 3 people, not only the ticked ones").is_visible()
    assert_accessible(page)


def test_the_connect_notice_does_not_say_in_progress_once_the_sync_succeeded(
    page, live_server, admin, client, connect_crm
):
    connect_crm(admin)
    SyncRunFactory(contract=admin.contract, state="succeeded", finished_at=timezone.now())
    # The browser takes the test client's session, with the connect step's notice waiting in it.
    page.context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": live_server.url}
            for name, morsel in client.cookies.items()
        ]
    )
    page.goto(f"{live_server.url}/admin-settings/crm/")
    page.locator("#sync-status-panel").get_by_text("Succeeded").first.wait_for()
    assert page.get_by_text("Connected to Microsoft Dynamics. The first sync has started").count()
    assert page.get_by_text("Successfully connected, sync in progress").count() == 0
    assert page.get_by_text("sync in progress").count() == 0
    assert_accessible(page)


@pytest.fixture
def copying(crm_contract, monkeypatch):
    from tests.writeback.conftest import copy_everything

    copy_everything(crm_contract, monkeypatch)
    return crm_contract


@pytest.fixture
def rep(copying):
    from tests.writeback.conftest import ALEX, map_seats

    seat = SeatFactory(contract=copying, user__email=ALEX)
    map_seats(copying)
    return seat


def _deliver(rep, member):
    """An item of ``rep`` about ``member`` delivered as an open activity regarding nobody."""
    from inbox.services import message_send
    from writeback.models import OutboxEntry, OutboxState
    from writeback.tasks import drain_outbox

    item = message_send(seat=rep, member=member, body="Hello again", copy_to_crm=True)
    drain_outbox(rep.contract_id)
    entry = OutboxEntry.objects.get(pk=item.delivery.pk)
    assert (entry.state, entry.written_open) == (OutboxState.SENT, True)
    return entry


@pytest.mark.emulator
def test_creating_the_record_resolves_the_members_other_open_items(
    page, live_server, rep, dynamics
):
    from writeback.report import record_id_derive

    member = MemberFactory(first_name="Ada", last_name="Lovelace", headline="Analyst")
    first, second = _deliver(rep, member), _deliver(rep, member)
    login_page(page, live_server, rep.user)
    page.goto(f"{live_server.url}/unresolved/")
    assert page.locator("table tbody tr", has_text="Ada Lovelace").count() == 2

    page.goto(f"{live_server.url}/unresolved/{first.pk}/")
    assert page.get_by_text(
        "resolves all open items about Ada Lovelace: this one and 1 other"
    ).is_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Create record in CRM").click()
    page.wait_for_load_state()
    assert page.get_by_text("with the other open item about Ada Lovelace").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Create record in CRM").click()
    page.wait_for_load_state()
    confirmation = page.get_by_text("1 other open item about Ada Lovelace was closed on it too.")
    assert confirmation.is_visible()
    assert page.locator("table tbody tr", has_text="Ada Lovelace").count() == 0
    assert_accessible(page)

    contact_id = str(record_id_derive(entry=first, record_type="contact"))
    for entry in (first, second):
        entry.refresh_from_db()
        assert entry.written_open is False
        row = dynamics.row(entry.crm_entity_set, str(entry.activity_id))
        assert (row["statecode"], row["_regardingobjectid_value"]) == (1, contact_id)
