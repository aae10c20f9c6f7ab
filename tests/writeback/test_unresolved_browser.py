"""The unresolved-task report in a real browser: a seat holder finds the record with the search
(htmx), resolves the item, and every page passes the basic accessibility checks.

Drives Debian's chromium through Playwright (tests/browser_fixtures.py) against the live server,
with the Dynamics emulator behind it.
"""

import pytest

from inbox.services import message_send
from tests.browser.a11y import assert_accessible
from tests.browser_fixtures import login_page
from tests.factories import MemberFactory, OutboxEntryFactory, SeatFactory
from tests.writeback.conftest import ALEX, connect, copy_everything, map_seats
from writeback.models import OutboxEntry
from writeback.tasks import drain_outbox

pytestmark = [pytest.mark.browser, pytest.mark.emulator, pytest.mark.django_db(transaction=True)]


def test_a_seat_holder_resolves_an_item_with_a_record_found_by_search(
    page, live_server, dynamics, contract, admin, crm_person, monkeypatch
):
    # Connecting starts the first import: not what this test is about.
    monkeypatch.setattr("crm_settings.connect.import_enqueue", lambda **kwargs: None)
    connect(dynamics, contract, admin)
    copy_everything(contract, monkeypatch)
    rep = SeatFactory(contract=contract, user__email=ALEX)
    map_seats(contract)
    contact = crm_person("contacts")
    message = message_send(seat=rep, member=MemberFactory(email=""), body="Hi", copy_to_crm=True)
    drain_outbox(contract.pk)
    login_page(page, live_server, rep.user)

    page.goto(f"{live_server.url}/inbox/")
    page.get_by_role("link", name="Unresolved tasks").click()
    assert_accessible(page)
    page.get_by_role("link", name="Resolve the Unassigned Message Task").click()
    assert page.get_by_role("heading", name="Unassigned Message Task").is_visible()
    assert_accessible(page)

    page.get_by_role("searchbox", name="Search your CRM").fill(contact["lastname"])
    page.get_by_role("button", name=f"Choose Robin {contact['lastname']}").click()
    page.wait_for_url(f"{live_server.url}/unresolved/")
    assert page.get_by_text("Resolved: the activity is closed on").is_visible()
    assert page.get_by_text("Nothing to resolve").is_visible()
    entry = OutboxEntry.objects.get(message=message)
    row = dynamics.row("li_messages", str(entry.activity_id))
    assert (row["statecode"], row["_regardingobjectid_value"]) == (1, contact["contactid"])


def test_create_record_in_crm_is_accessible(page, live_server, seat_holder):
    entry = OutboxEntryFactory(message__thread__seat=seat_holder, sent=True, written_open=True)
    login_page(page, live_server, seat_holder.user)
    page.goto(f"{live_server.url}/unresolved/{entry.pk}/create/")
    assert page.get_by_label("Last name").input_value() == entry.about.last_name
    assert_accessible(page)
