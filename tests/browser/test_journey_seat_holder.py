"""Journey 2: a seat holder sees what the import saved for them, copies a message and a note to
the CRM and watches them arrive, and resolves an unmatched member from the unresolved-task
report by creating the record."""

import pytest

from inbox.models import Message, Note
from inbox.services import conversation_receive
from network.models import Company, Member
from sync.models import CrmContact
from tests.browser.a11y import assert_accessible
from tests.browser.test_smoke import sign_in
from writeback.models import OutboxEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _delivery(item) -> OutboxEntry:
    return OutboxEntry.objects.get(**{"message" if isinstance(item, Message) else "note": item})


def test_seat_holder_journey(page, synced, shots, demo_team, contract):
    alex = demo_team["alex.morgan"]
    emulator = synced.emulator
    # A member the import matched to one of the org's CRM contacts, who wrote to Alex.
    matched = CrmContact.objects.filter(contract=contract, member__isnull=False).first()
    conversation_receive(
        seat=alex, member=matched.member, body="Thanks for reaching out, let's talk next week."
    )
    # A member nobody in the CRM knows.
    newco = Company.objects.create(name="Newco Robotics", domain="newco-robotics.example")
    nina = Member.objects.create(
        first_name="Nina",
        last_name="Newcomer",
        headline="Head of Operations",
        company=newco,
        company_name="Newco Robotics",
        email="nina@newco-robotics.example",
        profile_url="https://www.linkedin.com/in/nina-newcomer",
    )

    sign_in(page, synced.url, "alex.morgan@contoso-demo.com")

    # 1. Imported Accounts and Leads, with their In CRM badges.
    page.get_by_role("link", name="Accounts", exact=True).click()
    assert page.locator(".badge", has_text="In CRM").count() > 0
    assert_accessible(page)
    shots.take(page, "accounts", docs=True)
    page.get_by_role("link", name="Leads", exact=True).click()
    assert page.locator(".badge", has_text="In CRM").count() > 0
    assert_accessible(page)
    shots.take(page, "leads", docs=True)

    # 2. Reply in the thread with Copy message to CRM, and watch it reach the CRM.
    page.get_by_role("link", name="Inbox", exact=True).click()
    assert_accessible(page)
    page.get_by_role("link", name=matched.member.full_name).first.click()
    reply_form = page.get_by_role("region", name="Reply")
    reply_form.get_by_role("textbox", name="Message").fill("Great, Tuesday 10:00 works for me.")
    assert reply_form.get_by_label("Copy message to CRM").is_checked()
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_text("Your reply was sent.").wait_for()
    page.locator(".msg", has_text="Great, Tuesday").get_by_text("Sent to CRM").wait_for(
        timeout=60_000
    )
    assert_accessible(page)
    shots.take(page, "thread-sent-to-crm", docs=True)
    reply = Message.objects.get(body="Great, Tuesday 10:00 works for me.")

    # 3. A note on the lead with Copy to CRM.
    page.get_by_role("link", name=matched.member.full_name).first.click()
    notes = page.locator("#notes-panel")
    notes.get_by_role("textbox", name="Note").fill("Budget confirmed for Q3; wants a pilot.")
    notes.get_by_label("Copy to CRM").first.check()
    page.get_by_role("button", name="Save note").click()
    page.get_by_text("Budget confirmed for Q3").wait_for()
    page.locator("#notes-panel").get_by_text("Sent to CRM").wait_for(timeout=60_000)
    assert_accessible(page)
    note = Note.objects.get(body="Budget confirmed for Q3; wants a pilot.")

    # 4. A new message to a member nobody in the CRM knows.
    page.goto(f"{synced.url}/inbox/")
    page.get_by_role("link", name="New message").click()
    page.get_by_role("searchbox", name="Find a member").fill("Nina")
    page.get_by_label("Nina Newcomer").check()
    page.get_by_role("textbox", name="Message").fill("Hi Nina, would a short call help?")
    page.get_by_role("button", name="Send message").click()
    page.get_by_text("Open task").wait_for(timeout=60_000)
    shots.take(page, "unmatched-open-task")
    to_nina = Message.objects.get(thread__member=nina)

    # 5. In the CRM: closed activities regarding the matched contact, an open one for Nina.
    sent = emulator.row("li_messages", str(_delivery(reply).activity_id))
    assert sent["statecode"] == 1
    assert sent["_regardingobjectid_value"] == str(matched.crm_id)
    assert sent["_ownerid_value"] == emulator.user("alex.morgan@contoso-demo.com")["systemuserid"]
    assert emulator.row("tasks", str(_delivery(note).activity_id))["statecode"] == 1
    open_task = emulator.row("li_messages", str(_delivery(to_nina).activity_id))
    assert open_task["statecode"] == 0
    assert open_task.get("_regardingobjectid_value") is None

    # 6. Resolve it from the unresolved-task report by creating the record in the CRM.
    page.get_by_role("link", name="Unresolved tasks").click()
    assert_accessible(page)
    shots.take(page, "unresolved-task-report", docs=True)
    page.get_by_role("link", name="Resolve the Unassigned Message Task about Nina Newcomer").click()
    assert_accessible(page)
    page.get_by_role("link", name="Create record in CRM").click()
    assert page.get_by_label("Email").input_value() == "nina@newco-robotics.example"
    assert_accessible(page)
    page.get_by_role("button", name="Create record in CRM").click()
    page.wait_for_load_state()
    resolved = emulator.row("li_messages", str(_delivery(to_nina).activity_id))
    assert resolved["statecode"] == 1
    created = emulator.rows("contacts", filter="emailaddress1 eq 'nina@newco-robotics.example'")
    assert [c["contactid"] for c in created] == [resolved["_regardingobjectid_value"]]
