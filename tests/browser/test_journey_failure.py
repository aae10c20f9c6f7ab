"""Journey 3: the CRM starts refusing (privilege denied, then unreachable); the admin sees the
seed guide's message and next step each time; once the faults clear, *Sync now* recovers."""

import pytest

from tests.browser.a11y import assert_accessible
from tests.browser.test_smoke import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PRIVILEGES = (
    "Your CRM account does not have sufficient access privileges. "
    "Please check with your CRM administrator."
)
UNREACHABLE = "Could not connect to CRM. Please try again later."


def _sync_now(page):
    panel = page.locator("#sync-status-panel")
    panel.get_by_role("button", name="Sync now").click()
    return panel


def test_failure_journey(page, synced, shots):
    emulator = synced.emulator
    sign_in(page, synced.url, "admin@contoso-demo.com")
    page.goto(f"{synced.url}/admin-settings/crm/")
    page.locator("#sync-status-panel").get_by_role("link", name="Succeeded").wait_for()

    # 1. The integration user loses read access to opportunities.
    emulator.set_faults(deny={"integration@contoso-demo.com": ["opportunity"]})
    panel = _sync_now(page)
    panel.get_by_text(PRIVILEGES).wait_for(timeout=60_000)
    assert panel.get_by_text(
        "Connect with your internal CRM administrator to obtain required access privileges."
    ).is_visible()
    assert_accessible(page)
    shots.take(page, "privilege-error", docs=True)

    # 2. Dynamics cannot be reached at all.
    emulator.replace_faults(unreachable=True)
    page.reload()
    assert page.get_by_text(UNREACHABLE).count() == 0  # the page asks the CRM nothing
    page.get_by_role("button", name="Refresh from CRM").click()
    page.get_by_text(UNREACHABLE).first.wait_for(timeout=60_000)
    assert page.get_by_text(
        "Next step: There is a connection error with CRM. Please re-try later."
    ).first.is_visible()
    panel = _sync_now(page)
    panel.get_by_text(UNREACHABLE).wait_for(timeout=90_000)
    assert panel.get_by_text(
        "There is a connection error with CRM. Please re-try later."
    ).is_visible()
    shots.take(page, "unreachable-error")

    # 3. The faults clear: Sync now recovers.
    emulator.reset_faults()
    page.reload()
    panel = _sync_now(page)
    panel.get_by_role("link", name="Succeeded").wait_for(timeout=60_000)
    assert panel.get_by_text(UNREACHABLE).count() == 0
    assert panel.get_by_text(PRIVILEGES).count() == 0
    assert_accessible(page)
