"""What a newcomer met, checked in a real browser: Seat Management on a phone, times in the
browser's zone, search and sort on the lists, and the demo's CRM links opening."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.browser.a11y import assert_accessible
from tests.browser_fixtures import login_page
from tests.factories import (
    CrmConnectionFactory,
    OutboxEntryFactory,
    SavedAccountFactory,
    SavedLeadFactory,
    SeatFactory,
    SyncRunFactory,
    seats_bulk_create,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_seat_management_and_the_lists_fit_a_390_px_phone(browser, live_server, contract, shots):
    admin = SeatFactory(
        contract=contract,
        admin=True,
        user__email="dana.administrator-of-sales@contoso-demo.com",
        user__first_name="Dana",
        user__last_name="Administrator",
    )
    CrmConnectionFactory(contract=contract)
    seats_bulk_create(contract, 12)
    SavedLeadFactory.create_batch(3, seat=admin, imported=True, member__headline="VP of Things")
    SavedAccountFactory.create_batch(3, seat=admin, company__domain="a-long-domain.example")
    OutboxEntryFactory(message__thread__seat=admin, sent=True, written_open=True)
    SyncRunFactory(contract=contract, started_at=timezone.now(), finished_at=timezone.now())
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = login_page(context.new_page(), live_server, admin.user)
    # Seat Management was 773 px wide; the other lists and pages this change touched, too.
    for path in (
        "/seats/",
        "/seats/assign/",
        "/network/accounts/",
        "/network/leads/",
        "/unresolved/",
        "/admin-settings/crm/sync/history/",
        "/accounts/time-zone/",
    ):
        page.goto(live_server.url + path)
        shots.take(page, path.strip("/").replace("/", "-") or "home")
        assert _page_width(page) <= PHONE["width"], path
        assert_accessible(page)
    context.close()


def _column(page, header: str) -> list[str]:
    """The texts of one column of the page's table, by its header's text."""
    headers = [text.strip().upper() for text in page.locator("table thead th").all_inner_texts()]
    index = next(i for i, text in enumerate(headers) if text.startswith(header.upper()))
    # A cell's link when it has one (a name beside its In CRM badge), else its first line.
    return page.locator(f"table tbody tr td:nth-child({index + 1})").evaluate_all(
        "cells => cells.map(c => (c.querySelector('a') || c).innerText.trim().split('\\n')[0])"
    )


def _sort_by(page, header: str, direction: str) -> None:
    page.locator("table thead th a", has_text=header).first.click()
    page.wait_for_load_state()
    assert page.locator(f"th[aria-sort='{direction}']", has_text=header).count() == 1


def test_search_and_sort_on_the_lists(page, live_server, contract, shots):
    from decimal import Decimal

    from sync.models import CrmOpportunity, SeatCrmUser
    from tests.factories import CrmOpportunityFactory, CrmUserFactory

    admin = SeatFactory(contract=contract, admin=True, user__email="dana@contoso-demo.com")
    CrmConnectionFactory(
        contract=contract,
        stage_options=[{"value": 0, "label": "Qualify"}, {"value": 1, "label": "Develop"},
                       {"value": 2, "label": "Propose"}],
    )  # fmt: skip
    owner = CrmUserFactory(contract=contract, full_name="Dana Admin", email=admin.user.email)
    SeatCrmUser.objects.create(seat=admin, crm_user=owner)
    for last_name, stage, value in (("Young", 0, 900), ("Adams", 2, 50), ("Mills", 1, 400)):
        save = SavedLeadFactory(
            seat=admin, imported=True, crm_record_id=uuid.uuid4(), member__last_name=last_name
        )
        CrmOpportunityFactory(
            contract=contract,
            state=CrmOpportunity.State.OPEN,
            sales_stage=stage,
            estimated_value=Decimal(value),
            owner_id=owner.crm_id,
            contact_id=save.crm_record_id,
        )
    login_page(page, live_server, admin.user)

    page.goto(f"{live_server.url}/network/leads/")
    assert [name.split()[-1] for name in _column(page, "Name")] == ["Adams", "Mills", "Young"]
    assert _column(page, "Stage") == ["Propose", "Develop", "Qualify"]
    _sort_by(page, "Stage", "ascending")
    assert _column(page, "Stage") == ["Qualify", "Develop", "Propose"]
    _sort_by(page, "Opportunity value", "ascending")
    _sort_by(page, "Opportunity value", "descending")
    assert _column(page, "Opportunity value") == ["900", "400", "50"]
    assert_accessible(page)
    shots.take(page, "leads-by-value", docs=True)
    page.get_by_role("searchbox", name="Search").fill("mills")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert [name.split()[-1] for name in _column(page, "Name")] == ["Mills"]
    assert page.locator("th[aria-sort='descending']", has_text="Opportunity value").count() == 1

    for name in ("Northwind", "Contoso", "Fabrikam"):
        SavedAccountFactory(seat=admin, company__name=name)
    page.goto(f"{live_server.url}/network/accounts/")
    _sort_by(page, "Company", "descending")
    assert _column(page, "Company") == ["Northwind", "Fabrikam", "Contoso"]
    assert_accessible(page)

    for last_name in ("Zed", "Abbot"):
        OutboxEntryFactory(
            message__thread__seat=admin,
            message__thread__member__last_name=last_name,
            sent=True,
            written_open=True,
            sent_at=timezone.now(),
        )
    page.goto(f"{live_server.url}/unresolved/")
    _sort_by(page, "About", "ascending")
    assert [about.split()[-1] for about in _column(page, "About")] == ["Abbot", "Zed"]
    page.get_by_role("searchbox", name="Search").fill("zed")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert [about.split()[-1] for about in _column(page, "About")] == ["Zed"]
    assert_accessible(page)

    now = timezone.now()
    SyncRunFactory(contract=contract, started_at=now, finished_at=now + timedelta(seconds=0.4))
    SyncRunFactory(contract=contract, started_at=now, finished_at=now + timedelta(minutes=3))
    page.goto(f"{live_server.url}/admin-settings/crm/sync/history/")
    _sort_by(page, "Took", "ascending")
    assert _column(page, "Took") == ["0.4 s", "3 min"]
    _sort_by(page, "Took", "descending")
    assert _column(page, "Took") == ["3 min", "0.4 s"]
    assert_accessible(page)


def test_times_are_shown_in_the_browsers_zone_or_the_chosen_one(browser, live_server, contract):
    admin = SeatFactory(contract=contract, admin=True, user__email="dana@contoso-demo.com")
    started = datetime(2026, 11, 29, 14, 40, tzinfo=UTC)
    SyncRunFactory(
        contract=contract, started_at=started, finished_at=started + timedelta(seconds=3)
    )
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = login_page(context.new_page(), live_server, admin.user)

    # The first page learns the browser's zone and shows itself again in it.
    page.goto(f"{live_server.url}/admin-settings/crm/sync/history/")
    page.get_by_text("29 Nov 2026, 23:40 JST").wait_for()
    assert page.get_by_text("3.0 s").is_visible()

    page.locator(".usermenu summary").click()
    page.get_by_role("link", name="Time zone: Asia/Tokyo").click()
    assert_accessible(page)
    page.get_by_label("Show times in").select_option("America/New_York")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Times are now shown in America/New_York.").wait_for()
    page.goto(f"{live_server.url}/admin-settings/crm/sync/history/")
    assert page.get_by_text("29 Nov 2026, 09:40 EST").is_visible()
    context.close()


def test_a_crm_link_in_the_demo_opens_the_record(
    page, live_server, contract, settings, browser_emulator
):
    """Every CRM link failed with a certificate error: it went to the emulator's self-signed
    https port. It now opens the record on the emulator's plain-http port."""
    from tests.conftest import point_portal_at

    point_portal_at(settings, browser_emulator)
    contact = browser_emulator.rows("contacts", top=1)[0]
    seat = SeatFactory(contract=contract, user__email="alex.morgan@contoso-demo.com")
    CrmConnectionFactory(contract=contract, environment_url=browser_emulator.base_url)
    SavedLeadFactory(seat=seat, imported=True, crm_record_id=contact["contactid"])
    login_page(page, live_server, seat.user)
    page.goto(f"{live_server.url}/network/leads/")

    with page.context.expect_page() as opened:
        page.get_by_role("link", name="In CRM").click()
    record = opened.value
    record.wait_for_load_state()
    assert record.url.startswith(f"{browser_emulator.browser_url}/main.aspx")
    assert record.locator("h1").inner_text() == contact["fullname"]


def test_an_invited_seat_holder_lands_signed_in_on_their_accounts(page, live_server, contract):
    from seats.invitations import invitation_url

    seat = SeatFactory(contract=contract, user__email="jordan.kim@contoso-demo.com")
    seat.user.set_unusable_password()
    seat.user.save()
    page.goto(invitation_url(user=seat.user, base_url=live_server.url))
    page.get_by_role("heading", name="Choose your password").wait_for()
    assert_accessible(page)
    page.get_by_label("New Password", exact=True).fill("a-new-pass-2026!")
    page.get_by_label("New Password (again)").fill("a-new-pass-2026!")
    page.get_by_role("button", name="Save password and sign in").click()
    page.wait_for_url(f"{live_server.url}/network/accounts/")
    assert page.get_by_role("heading", name="Accounts").is_visible()
    assert page.locator(".usermenu summary").is_visible()  # signed in
    assert_accessible(page)
