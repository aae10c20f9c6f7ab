"""Journey 4: *Disconnect CRM Sync* with *Yes, clean up all previously imported CRM data*; the
imported items leave the seat holder's lists, their own saves, notes and messages remain."""

import pytest

from inbox.models import Note, Thread
from inbox.services import conversation_receive, note_create
from network.models import Company, SavedAccount, SavedLead
from tests.browser.a11y import assert_accessible
from tests.browser.test_smoke import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_disconnect_journey(page, synced, shots, demo_team):
    alex = demo_team["alex.morgan"]
    imported = SavedAccount.objects.filter(seat=alex, from_crm=True, saved_by_hand=False)
    assert imported.exists(), "the first import saved no accounts for Alex"
    own_company = Company.objects.create(name="Alex's Own Prospect", domain="own-prospect.example")
    SavedAccount.objects.create(seat=alex, company=own_company, saved_by_hand=True)
    lead = SavedLead.objects.filter(seat=alex, from_crm=True).select_related("member").first()
    note_create(seat=alex, member=lead.member, body="Met at the trade fair.", copy_to_crm=False)
    conversation_receive(seat=alex, member=lead.member, body="Good to meet you yesterday!")

    # 1. The admin disconnects and cleans up, after seeing what will be deleted.
    sign_in(page, synced.url, "admin@contoso-demo.com")
    page.goto(f"{synced.url}/admin-settings/crm/")
    page.get_by_role("link", name="Disconnect CRM Sync").click()
    assert page.get_by_role("heading", name="Disconnect CRM Sync").is_visible()
    assert page.get_by_role("cell", name="Saved accounts imported from CRM").is_visible()
    assert_accessible(page)
    page.get_by_label("Yes, clean up all previously imported CRM data").check()
    shots.take(page, "disconnect-confirmation", docs=True)
    page.get_by_role("button", name="Disconnect").click()
    page.get_by_text("Disconnected from Microsoft Dynamics and cleaned up").wait_for()
    assert page.get_by_role("button", name="Connect to CRM").is_visible()

    # 2. The seat holder's lists: imported items gone, their own work kept.
    page.context.clear_cookies()
    sign_in(page, synced.url, "alex.morgan@contoso-demo.com")
    page.get_by_role("link", name="Accounts", exact=True).click()
    assert page.locator(".badge", has_text="In CRM").count() == 0
    assert page.get_by_text("Alex's Own Prospect").is_visible()
    assert_accessible(page)
    shots.take(page, "accounts-after-clean-up")
    assert not SavedAccount.objects.filter(seat=alex, from_crm=True).exists()
    assert not SavedLead.objects.filter(seat=alex, from_crm=True).exists()
    assert Note.objects.filter(seat=alex, body="Met at the trade fair.").exists()
    assert Thread.objects.filter(seat=alex, member=lead.member).exists()
    page.get_by_role("link", name="Inbox", exact=True).click()
    assert page.get_by_role("link", name=lead.member.full_name).first.is_visible()
