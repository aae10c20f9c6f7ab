"""The LinkedIn unresolved task report: who sees which items, and resolving them against the
emulator by a suggestion, by a search, and by *Create record in CRM*."""

import uuid

import pytest
from django.urls import reverse

from inbox.services import message_send, note_create
from tests.factories import (
    CompanyFactory,
    MemberFactory,
    OutboxEntryFactory,
    SeatFactory,
)
from tests.writeback.conftest import map_seats
from writeback.models import OutboxEntry, OutboxState, RecordMatch
from writeback.report import record_id_derive
from writeback.tasks import drain_outbox

pytestmark = pytest.mark.django_db


def _open(seat) -> OutboxEntry:
    """An item written as an open activity regarding nobody."""
    return OutboxEntryFactory(
        message__thread__seat=seat, sent=True, written_open=True, sent_at="2026-01-05T10:00Z"
    )


def test_seat_holders_see_their_own_open_items_and_admins_the_contracts(
    login, seat_holder, admin, admin_only
):
    mine, theirs = _open(seat_holder), _open(admin)
    OutboxEntryFactory(message__thread__seat=seat_holder, sent=True)  # closed on its record

    page = login(seat_holder).get(reverse("writeback:unresolved")).content.decode()
    assert "Unassigned Message Task" in page
    assert reverse("writeback:unresolved_item", args=[mine.pk]) in page
    assert reverse("writeback:unresolved_item", args=[theirs.pk]) not in page
    assert page.count("Resolve<span") == 1

    for seat in (admin, admin_only):
        page = login(seat).get(reverse("writeback:unresolved")).content.decode()
        assert page.count("Resolve<span") == 2
        assert "rep@contoso.test" in page


def test_another_seat_holders_item_is_not_found(login, seat_holder, admin, outsider):
    entry = _open(admin)
    colleague = login(seat_holder)
    for name in ("writeback:unresolved_item", "writeback:unresolved_create"):
        assert colleague.get(reverse(name, args=[entry.pk])).status_code == 404
    resolve = reverse("writeback:unresolved_resolve", args=[entry.pk])
    assert colleague.post(resolve).status_code == 404
    assert (
        login(outsider).get(reverse("writeback:unresolved_item", args=[entry.pk])).status_code
        == 404
    )


@pytest.mark.parametrize("count", [1, 30])
def test_the_report_costs_the_same_queries_for_few_or_many_items(
    login, admin, count, django_assert_max_num_queries
):
    for _ in range(count):
        _open(SeatFactory(contract=admin.contract))
    OutboxEntryFactory(on_note=True, note__seat=admin, sent=True, written_open=True)
    client = login(admin)
    with django_assert_max_num_queries(6):
        page = client.get(reverse("writeback:unresolved")).content.decode()
    assert page.count("Resolve<span") == count + 1
    assert "Unassigned Note Task" in page


def test_without_a_crm_connection_the_item_says_so(login, seat_holder):
    entry = _open(seat_holder)
    page = login(seat_holder).get(reverse("writeback:unresolved_item", args=[entry.pk]))
    assert "Your contract is not connected to a CRM." in page.content.decode()
    assert "Create record in CRM" in page.content.decode()


def test_a_search_needs_two_characters(login, seat_holder):
    entry = _open(seat_holder)
    url = reverse("writeback:unresolved_item", args=[entry.pk])
    page = login(seat_holder).get(url, {"q": "a"}, headers={"hx-request": "true"})
    assert "Type at least 2 characters" in page.content.decode()


def test_resolving_needs_a_record_from_the_list(login, seat_holder):
    entry = _open(seat_holder)
    client = login(seat_holder)
    url = reverse("writeback:unresolved_resolve", args=[entry.pk])
    response = client.post(url, {"record_type": "contact", "record_id": "nonsense"}, follow=True)
    assert "Choose a record from the list." in response.content.decode()


def test_create_record_keeps_what_was_typed_and_says_what_is_missing(login, seat_holder):
    entry = _open(seat_holder)
    url = reverse("writeback:unresolved_create", args=[entry.pk])
    response = login(seat_holder).post(
        url, {"record_type": "lead", "first_name": "Ada", "last_name": "", "company_name": "Acme"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Dynamics needs a last name." in page and 'value="Acme"' in page


# --- Against the emulator -------------------------------------------------------------------------


@pytest.fixture
def unresolved(rep, client):
    """``unresolved(member=..., company=...)``: an item of ``rep`` delivered as an open activity;
    the test client is signed in as ``rep``."""
    client.force_login(rep.user)

    def deliver(*, member=None, company=None) -> OutboxEntry:
        if company is not None:
            item = note_create(seat=rep, company=company, body="Budget in Q3", copy_to_crm=True)
        else:
            item = message_send(seat=rep, member=member, body="Hello again", copy_to_crm=True)
        drain_outbox(rep.contract_id)
        entry = OutboxEntry.objects.get(pk=item.delivery.pk)
        assert (entry.state, entry.written_open) == (OutboxState.SENT, True)
        return entry

    return deliver


def _activity(dynamics, entry) -> dict:
    return dynamics.row(entry.crm_entity_set, str(entry.activity_id))


@pytest.mark.emulator
def test_resolving_with_a_suggestion_closes_the_activity_and_matches_later_items(
    unresolved, rep, client, dynamics, crm_person
):
    """GIVEN an open activity about a member the CRM knows by name and company, not by email
    WHEN the seat holder picks the suggested contact
    THEN the activity regards it and is closed, and the member's next message goes there too."""
    account = dynamics.create_row("accounts", name="Northwind Traders")
    contact = crm_person("contacts", _parentcustomerid_value=account["accountid"])
    member = MemberFactory(
        first_name="Robin",
        last_name=contact["lastname"],
        email="",
        company=CompanyFactory(name="Northwind Traders Ltd"),
    )
    entry = unresolved(member=member)

    page = client.get(reverse("writeback:unresolved_item", args=[entry.pk])).content.decode()
    assert contact["contactid"] in page and "Same name and company" in page

    response = client.post(
        reverse("writeback:unresolved_resolve", args=[entry.pk]),
        {"record_type": "contact", "record_id": contact["contactid"], "record_name": "Robin"},
    )
    assert response.status_code == 302
    row = _activity(dynamics, entry)
    assert (row["statecode"], row["_regardingobjectid_value"]) == (1, contact["contactid"])
    entry.refresh_from_db()
    assert (entry.written_open, entry.regarding_type) == (False, "contact")
    assert RecordMatch.objects.get(member=member).chosen_by == rep

    later = message_send(seat=rep, member=member, body="Following up", copy_to_crm=True)
    drain_outbox(rep.contract_id)
    later = OutboxEntry.objects.get(pk=later.delivery.pk)
    assert _activity(dynamics, later)["_regardingobjectid_value"] == contact["contactid"]


@pytest.mark.emulator
def test_resolving_with_a_record_found_by_search(unresolved, client, dynamics, crm_person):
    lead = crm_person("leads", companyname="Fabrikam")
    entry = unresolved(member=MemberFactory())
    url = reverse("writeback:unresolved_item", args=[entry.pk])

    found = client.get(url, {"q": lead["lastname"]}, headers={"hx-request": "true"})
    assert found.templates[0].name == "writeback/_candidates.html"
    assert lead["leadid"] in found.content.decode()
    client.post(
        reverse("writeback:unresolved_resolve", args=[entry.pk]),
        {"record_type": "lead", "record_id": lead["leadid"]},
    )

    row = _activity(dynamics, entry)
    assert (row["statecode"], row["_regardingobjectid_value"]) == (1, lead["leadid"])


@pytest.mark.emulator
def test_create_record_in_crm_makes_a_contact_from_the_members_details(
    unresolved, client, dynamics
):
    member = MemberFactory(first_name="Ada", last_name="Lovelace", headline="Analyst")
    entry = unresolved(member=member)
    url = reverse("writeback:unresolved_create", args=[entry.pk])
    form = client.get(url).context["form"]
    assert form.initial["email"] == member.email and form.initial["job_title"] == "Analyst"

    values = {**form.initial, "last_name": "King", "job_title": "Countess"}
    assert client.post(url, values).status_code == 302

    contact_id = str(record_id_derive(entry=entry, record_type="contact"))
    contact = dynamics.row("contacts", contact_id)
    assert (contact["lastname"], contact["jobtitle"]) == ("King", "Countess")
    assert contact["_ownerid_value"] == dynamics.user(entry.seat.user.email)["systemuserid"]
    row = _activity(dynamics, entry)
    assert (row["statecode"], row["_regardingobjectid_value"]) == (1, contact_id)


@pytest.mark.emulator
def test_create_record_in_crm_for_a_company_makes_an_account(unresolved, client, dynamics):
    company = CompanyFactory(name="Contoso Pharmaceuticals", domain="contoso-pharma.example")
    entry = unresolved(company=company)
    url = reverse("writeback:unresolved_create", args=[entry.pk])

    response = client.post(
        url,
        {
            "record_type": "account",
            "name": company.name,
            "website": "https://contoso-pharma.example",
        },
    )

    assert response.status_code == 302
    account_id = str(record_id_derive(entry=entry, record_type="account"))
    assert dynamics.row("accounts", account_id)["name"] == "Contoso Pharmaceuticals"
    row = _activity(dynamics, entry)
    assert (row["statecode"], row["statuscode"]) == (1, 5)
    assert row["_regardingobjectid_value"] == account_id


@pytest.mark.emulator
def test_an_item_closed_in_the_crm_meanwhile_leaves_the_report(unresolved, client, dynamics):
    entry = unresolved(member=MemberFactory())
    dynamics.patch_row(entry.crm_entity_set, str(entry.activity_id), statecode=1, statuscode=2)

    response = client.get(reverse("writeback:unresolved_item", args=[entry.pk]), follow=True)

    assert "resolved in your CRM already" in response.content.decode()
    entry.refresh_from_db()
    assert not entry.written_open


@pytest.mark.emulator
def test_resolving_one_item_resolves_the_members_other_open_items(
    unresolved, rep, client, dynamics, crm_person, copying
):
    """GIVEN three open items about one member: two of the seat holder's, one of a colleague's
    WHEN the seat holder resolves one of theirs
    THEN both of theirs are closed on the record and leave the report, the confirmation says so,
    and the colleague's (which the seat holder cannot see) stays for the colleague."""
    contact = crm_person("contacts")
    member = MemberFactory(email="")
    first, second = unresolved(member=member), unresolved(member=member)
    colleague = SeatFactory(contract=copying, user__email="priya.shah@contoso-demo.com")
    map_seats(copying)
    note_create(seat=colleague, member=member, body="Met at the fair", copy_to_crm=True)
    drain_outbox(copying.pk)
    theirs = OutboxEntry.objects.get(seat=colleague)
    assert theirs.written_open

    page = client.get(reverse("writeback:unresolved_item", args=[first.pk])).content.decode()
    assert f"resolves all open items about {member.full_name}: this one and 1 other" in page

    response = client.post(
        reverse("writeback:unresolved_resolve", args=[first.pk]),
        {"record_type": "contact", "record_id": contact["contactid"], "record_name": "Robin"},
        follow=True,
    )

    assert (
        f"Resolved: the activity is closed on Robin. 1 other open item about {member.full_name} "
        "was closed on it too." in response.content.decode()
    )
    for entry in (first, second):
        row = _activity(dynamics, entry)
        assert (row["statecode"], row["_regardingobjectid_value"]) == (1, contact["contactid"])
        entry.refresh_from_db()
        assert (entry.written_open, entry.regarding_id) == (False, uuid.UUID(contact["contactid"]))
    assert reverse("writeback:unresolved_item", args=[second.pk]) not in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.written_open
    assert _activity(dynamics, theirs)["statecode"] == 0


@pytest.mark.emulator
def test_an_admin_resolving_an_item_closes_every_seat_holders_items_about_the_member(
    unresolved, rep, client, dynamics, crm_person, copying, admin
):
    contact = crm_person("contacts")
    member = MemberFactory(email="")
    first, second = unresolved(member=member), unresolved(member=member)
    client.force_login(admin.user)
    response = client.post(
        reverse("writeback:unresolved_resolve", args=[second.pk]),
        {"record_type": "contact", "record_id": contact["contactid"], "record_name": "Robin"},
        follow=True,
    )
    assert "1 other open item about" in response.content.decode()
    first.refresh_from_db()
    assert first.written_open is False
    assert _activity(dynamics, first)["_regardingobjectid_value"] == contact["contactid"]
