"""The Data validation page in a real browser: an admin filters the flagged contacts and creates
a follow-up task in CRM (a second click makes none), and the seat holder whose Lead it is sees
only their own flag and dismisses it. Every page passes the basic accessibility checks.

Chromium through Playwright (tests/browser_fixtures.py) against the live server; the flags come
from a real import of the emulator's demo org (``tests.validation.conftest``).
"""

import pytest

from tests.browser.a11y import assert_accessible
from tests.browser_fixtures import login_page
from tests.sync.deals import ALEX
from tests.validation import conftest as validation_fixtures
from writeback.models import FollowUp

# The flagged deal of the page's tests, and the import fixtures it stands on.
emulator_factory = validation_fixtures.emulator_factory
crm_server = validation_fixtures.crm_server
crm = validation_fixtures.crm
demo_contract = validation_fixtures.demo_contract
connected = validation_fixtures.connected
run_sync = validation_fixtures.run_sync
team = validation_fixtures.team


pytestmark = [pytest.mark.browser, pytest.mark.emulator, pytest.mark.django_db(transaction=True)]
FOLLOW_UP = "Create a follow-up task in CRM about Zoe Zed"


def test_an_admin_follows_up_and_the_seat_holder_dismisses(page, live_server, connected, team):
    admin = connected.seats.get(user__email="admin@contoso-demo.com")
    login_page(page, live_server, admin.user)
    page.goto(f"{live_server.url}/network/accounts/")
    page.get_by_role("link", name="Data validation").click()
    assert page.get_by_role("heading", name="Data validation").is_visible()
    page.get_by_label("Reason").select_option(label="Email domain differs from website")
    page.get_by_label("Search", exact=True).fill("Zeta")
    page.get_by_role("button", name="Apply").click()
    assert page.get_by_text("Zoe Zed’s email address is at old-employer.example").is_visible()
    assert page.get_by_text("Nobody’s Lead").is_visible()  # Yan Yu
    assert_accessible(page)

    page.get_by_role("button", name=FOLLOW_UP).click()
    assert page.get_by_text("Follow-up task created for alex.morgan@contoso-demo.com").is_visible()
    # The filters survive the action, and the row says where the task stands.
    assert page.get_by_label("Reason").input_value() == "email_domain"
    assert page.get_by_text("Follow-up task for alex.morgan@contoso-demo.com").is_visible()
    page.get_by_role("button", name=FOLLOW_UP).click()
    assert page.get_by_text("no second task was made").is_visible()
    assert FollowUp.objects.count() == 1
    assert_accessible(page)

    page.context.clear_cookies()
    login_page(page, live_server, connected.seats.get(user__email=ALEX).user)
    page.goto(f"{live_server.url}/data-validation/")
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    assert "Zoe Zed" in rows.first.inner_text()
    page.get_by_role("button", name="Dismiss Email domain differs from website for Zoe Zed").click()
    assert page.get_by_text("It comes back if the flagged data changes.").is_visible()
    assert page.get_by_text("Nothing to look at").is_visible()
    assert_accessible(page)
