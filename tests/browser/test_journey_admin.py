"""Journey 1: an admin connects the contract to Dynamics and configures the sync and writeback."""

import pytest

from tests.browser.a11y import assert_accessible
from tests.browser.test_smoke import sign_in
from tests.factories import SeatFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_journey(page, stack, shots, contract):
    SeatFactory(contract=contract, admin=True, user__email="admin@contoso.test")
    sign_in(page, stack.url, "admin@contoso.test")

    # Admin > Admin Settings > CRM Settings
    page.locator("summary", has_text="Admin").click()
    page.get_by_role("link", name="CRM Settings").click()
    assert_accessible(page)
    shots.take(page, "crm-settings-not-connected", docs=True)

    # Connect to CRM, sign in on the emulator's Microsoft-style page as the integration user.
    page.get_by_label("Dynamics environment URL").fill(stack.emulator.base_url)
    page.get_by_role("button", name="Connect to CRM").click()
    page.wait_for_url(f"{stack.emulator.browser_url}/**")
    shots.take(page, "microsoft-sign-in", docs=True)
    page.get_by_role("button", name="Integration User").click()
    page.wait_for_url(f"{stack.url}/admin-settings/crm/")
    assert page.get_by_text("Successfully connected, sync in progress").is_visible()
    assert page.get_by_role("heading", name="Connected to Microsoft Dynamics").is_visible()
    assert_accessible(page)
    shots.take(page, "connected", docs=True)
