"""Every page a newcomer reaches first renders in a real browser without errors and passes the
basic accessibility checks."""

import pytest

from tests.browser.a11y import assert_accessible
from tests.factories import PASSWORD, SeatFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, url, email, password=PASSWORD):
    page.goto(f"{url}/accounts/login/")
    assert_accessible(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_pages_render_and_are_accessible(page, live_server, contract):
    SeatFactory(contract=contract, admin=True, user__email="admin@contoso.test")
    sign_in(page, live_server.url, "admin@contoso.test")
    for path in (
        "/crm-sync/",
        "/admin-settings/crm/",
        "/seats/",
        "/network/accounts/",
        "/network/leads/",
        "/inbox/",
        "/reports/won-revenue/",
        "/reports/matches/",
        "/reports/audit/",
        "/crm-copies/failed/",
        "/admin-settings/alerts/",
        "/admin-settings/crm/sync/history/",
        "/unresolved/",
        "/accounts/email/",
        "/accounts/time-zone/",
    ):
        page.goto(live_server.url + path)
        assert page.locator("h1").count() == 1
        assert_accessible(page)


def test_the_admin_menu_opens_with_the_keyboard(page, live_server, contract):
    SeatFactory(contract=contract, admin=True, user__email="admin@contoso.test")
    sign_in(page, live_server.url, "admin@contoso.test")
    page.goto(live_server.url + "/network/accounts/")
    page.locator("summary", has_text="Admin").focus()
    page.keyboard.press("Enter")
    page.get_by_role("link", name="CRM Settings").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin-settings/crm/")
