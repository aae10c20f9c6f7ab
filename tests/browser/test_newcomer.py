"""What a newcomer met, checked in a real browser: Seat Management on a phone, times in the
browser's zone, search and sort on the lists, and the demo's CRM links opening."""

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
