"""Seat Management in a real browser: the select-all checkbox and the (…) menu from the keyboard.

Drives Debian's chromium through Playwright (tests/browser_fixtures.py) against the live server.
"""

import pytest

from seats.models import CrmSync, Seat
from tests.browser_fixtures import login_page
from tests.factories import SeatFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_page(page, live_server, admin):
    """A chromium page signed in as ``admin``, on the live server."""
    return login_page(page, live_server, admin.user)


def test_the_select_all_checkbox_ticks_every_row_and_bulk_enables(
    admin_page, live_server, contract
):
    page = admin_page
    SeatFactory.create_batch(3, contract=contract)
    page.goto(f"{live_server.url}/seats/")
    select_all = page.get_by_label("Select all seats on this page")
    rows = page.locator('tbody input[name="seat"]')
    assert rows.count() == 4

    select_all.check()
    assert all(rows.nth(n).is_checked() for n in range(4))
    rows.first.uncheck()
    assert select_all.evaluate("box => box.indeterminate")

    select_all.check()
    page.get_by_role("button", name="Enable CRM Sync…").click()
    # What the import would bring them first (issue 16), then the change.
    page.get_by_role("heading", name="Enable CRM Sync").wait_for()
    page.get_by_role("button", name="Enable CRM Sync").click()
    page.get_by_text("CRM sync enabled for 4 seats.").wait_for()
    assert set(Seat.objects.values_list("crm_sync", flat=True)) == {CrmSync.ON}


def test_the_row_menu_opens_from_the_keyboard(admin_page, live_server, seat_holder):
    page = admin_page
    page.goto(f"{live_server.url}/seats/?q=rep")
    menu = page.get_by_label(f"More actions for {seat_holder.user.display_name}")
    menu.focus()
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Disable CRM Sync").click()
    page.get_by_role("heading", name="Disable CRM Sync").wait_for()
    page.get_by_role("button", name="Disable CRM Sync").click()
    page.get_by_text("CRM sync disabled for 1 seat.").wait_for()
    assert Seat.objects.get(pk=seat_holder.pk).crm_sync == CrmSync.OFF
    assert page.url == f"{live_server.url}/seats/?q=rep"
