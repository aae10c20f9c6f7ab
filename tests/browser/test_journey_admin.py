"""Journey 1: an admin connects the contract to Dynamics, watches the first sync, configures the
sync and writeback, and manages seats — in a real browser, with the worker process doing the
background work."""

import pytest

from network.demo import network_seed
from seats.models import CrmSync, Seat
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import DEMO_REPS, wait_until
from tests.browser.test_smoke import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_journey(page, stack, shots, demo_team):
    network_seed(size="demo")  # the prospecting side the import saves Accounts and Leads from
    sign_in(page, stack.url, "admin@contoso-demo.com")

    # 1. Admins land on Admin > CRM Sync, which says how to connect; Admin > Admin Settings >
    # CRM Settings is where they do.
    page.wait_for_url(f"{stack.url}/crm-sync/")
    assert page.get_by_text("Not connected to a CRM.").is_visible()
    navigation = page.get_by_role("navigation", name="Main")
    navigation.locator("summary", has_text="Admin").click()
    navigation.get_by_role("link", name="CRM Settings").click()
    assert_accessible(page)
    shots.take(page, "crm-settings-not-connected", docs=True)

    # 2. Connect to CRM, sign in on the emulator's Microsoft-style page as the integration user.
    page.get_by_label("Dynamics environment URL").fill(stack.emulator.base_url)
    page.get_by_role("button", name="Connect to CRM").click()
    page.wait_for_url(f"{stack.emulator.browser_url}/**")
    shots.take(page, "microsoft-sign-in", docs=True)
    page.get_by_role("button", name="Integration User").click()
    page.wait_for_url(f"{stack.url}/admin-settings/crm/")
    assert page.get_by_text(
        "Connected to Microsoft Dynamics. The first sync has started"
    ).is_visible()
    assert page.get_by_role("heading", name="Connected to Microsoft Dynamics").is_visible()
    assert_accessible(page)
    shots.take(page, "connected", docs=True)

    # 3. The progress bar moves to a finished sync (the worker process runs the import).
    page.locator("#sync-status-panel").get_by_role("link", name="Succeeded").wait_for(
        timeout=90_000
    )
    # The first sync's notice goes with it, without a reload.
    assert page.get_by_text("Successfully connected, sync in progress").count() == 0
    page.reload()  # the connect step's notice is gone; the finished sync stays
    assert_accessible(page)
    shots.take(page, "first-sync-finished", docs=True)

    # Admin > CRM Sync: the first day of history, as the worker's import recorded it.
    navigation.locator("summary", has_text="Admin").click()
    navigation.get_by_role("link", name="CRM Sync", exact=True).click()
    page.wait_for_url(f"{stack.url}/crm-sync/")
    assert page.locator("#chart-runs rect.series-succeeded").count() == 1
    assert page.locator("#chart-requests rect.series-requests").count() == 1
    assert page.locator("#chart-match circle.series-contacts").count() == 1
    assert page.locator("#chart-runs rect.series-succeeded").bounding_box()["height"] > 0
    assert_accessible(page)
    shots.take(page, "crm-sync-overview")
    navigation.locator("summary", has_text="Admin").click()
    navigation.get_by_role("link", name="CRM Settings").click()

    # 4. Set the stage, the won-value field and auto sync.
    page.get_by_label("At which stage does your sales team consider").select_option(label="Develop")
    page.get_by_label("Where do you store the value for a won opportunity?").select_option(
        value="new_wonamount"
    )
    page.get_by_role("group", name="Auto sync all seat holders with CRM?").get_by_label(
        "Yes"
    ).check()
    page.get_by_role("button", name="Save CRM settings").click()
    # A new stage is previewed first (issue 16): what the import would then do, then Save.
    page.get_by_role("heading", name="Before you save: what the import would do").wait_for()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("CRM settings saved.").wait_for()

    # 5. Writeback: the Get it now step while the LinkedIn solution is missing, then enabled.
    # The page shows what was read from the CRM; Refresh from CRM reads it again.
    stack.emulator.set_linkedin_solution(False)
    page.reload()
    assert page.get_by_role("link", name="Get it now").count() == 0
    page.get_by_role("button", name="Refresh from CRM").click()
    page.get_by_text("Read your CRM's sales stages, money fields and apps again.").wait_for()
    assert page.get_by_role("link", name="Get it now").is_visible()
    shots.take(page, "writeback-get-it-now")
    stack.emulator.set_linkedin_solution(True)
    # "Once installation has been successfully completed ... refresh your page"
    page.get_by_role("button", name="Refresh from CRM").click()
    page.get_by_text("Read your CRM's sales stages, money fields and apps again.").wait_for()
    assert page.get_by_role("link", name="Get it now").count() == 0
    page.get_by_role(
        "group", name="Enable Sales Navigator to sync back data to your CRM?"
    ).get_by_label("Yes").check()
    page.get_by_label("Sync back all data items (recommended)").check()
    page.get_by_role("button", name="Save writeback settings").click()
    page.get_by_text("Writeback settings saved.").wait_for()
    assert_accessible(page)

    # 6. Seat Management: In CRM badges, disable one seat, assign two seats from CRM.
    page.get_by_role("navigation", name="Main").locator("summary", has_text="Admin").click()
    page.get_by_role("link", name="Admin / Seat Management").click()
    wait_until(
        lambda: page.reload() or page.get_by_text("In CRM", exact=True).count() >= len(DEMO_REPS),
        message="the seats never showed their In CRM badges",
    )
    # The first sync saved Accounts and Leads for the seat holders who own opportunities.
    alex_row = page.get_by_role("row").filter(has_text="alex.morgan@contoso-demo.com")
    assert "Never" not in alex_row.inner_text()
    assert_accessible(page)
    shots.take(page, "seat-management", docs=True)

    page.get_by_label("More actions for Sam Lee").click()
    page.locator("details[open]").get_by_role("link", name="Disable CRM Sync").click()
    page.get_by_role("heading", name="Disable CRM Sync").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Disable CRM Sync").click()
    page.get_by_text("CRM sync disabled for 1 seat.").wait_for()
    assert Seat.objects.get(user__email="sam.lee@contoso-demo.com").crm_sync == CrmSync.OFF

    page.get_by_role("link", name="Assign seats from CRM").click()
    assert_accessible(page)
    page.get_by_label("Select Jordan Kim").check()
    page.get_by_label("Select Lee Chen").check()
    shots.take(page, "assign-seats-from-crm", docs=True)
    page.get_by_role("button", name="Assign seats").click()
    page.wait_for_url(f"{stack.url}/seats/**")
    assert (
        Seat.objects.filter(
            user__email__in=["jordan.kim@contoso-demo.com", "lee.chen@contoso-demo.com"]
        ).count()
        == 2
    )
