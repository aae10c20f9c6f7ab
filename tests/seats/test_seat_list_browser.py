"""Seat Management in a real browser: the select-all checkbox and the (…) menu from the keyboard.

Drives Debian's chromium through Playwright against the live server. Skipped when chromium is
missing, unless REQUIRE_BROWSER is set (CI), where that is a failure.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

from seats.models import CrmSync, Seat
from tests.factories import SeatFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def page(monkeypatch, live_server, client, admin):
    """A chromium page signed in as ``admin``, on the live server."""
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and REQUIRE_BROWSER is set")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    client.force_login(admin.user)
    session = client.cookies["sessionid"].value
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous, so Django's guard against async use does not apply to them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        yield context.new_page()
        # With that loop running, the test's queries used connections of their own: close them,
        # or the test database could not be dropped at the end of the session.
        connections.close_all()
        browser.close()


def test_the_select_all_checkbox_ticks_every_row_and_bulk_enables(page, live_server, contract):
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
    page.get_by_role("button", name="Enable CRM Sync").click()
    page.get_by_text("CRM sync enabled for 4 seats.").wait_for()
    assert set(Seat.objects.values_list("crm_sync", flat=True)) == {CrmSync.ON}


def test_the_row_menu_opens_from_the_keyboard(page, live_server, seat_holder):
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
