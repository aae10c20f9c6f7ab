"""Accounts and Leads: the opportunity's stage, value and owner, the last activity, search and
sort on every column, and a fixed number of queries per page."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.models import CrmOpportunity, SeatCrmUser
from tests.factories import (
    CrmConnectionFactory,
    CrmOpportunityFactory,
    CrmUserFactory,
    MemberFactory,
    MessageFactory,
    NoteFactory,
    SavedAccountFactory,
    SavedLeadFactory,
    ThreadFactory,
)

pytestmark = pytest.mark.django_db

STAGES = [{"value": 7, "label": "Qualify"}, {"value": 2, "label": "Develop"},
          {"value": 5, "label": "Propose"}]  # fmt: skip


@pytest.fixture
def connection(contract):
    return CrmConnectionFactory(contract=contract, stage_options=STAGES)


@pytest.fixture
def owner(contract, seat_holder):
    user = CrmUserFactory(contract=contract, full_name="Rita Rep", email=seat_holder.user.email)
    SeatCrmUser.objects.create(seat=seat_holder, crm_user=user)
    return user


def _lead(seat, last_name, *, stage=None, value=None, owner=None, **opportunity):
    """A lead imported from a CRM contact, on an open opportunity when ``stage`` is given."""
    save = SavedLeadFactory(
        seat=seat,
        imported=True,
        crm_record_id=uuid.uuid4(),
        member__first_name="Lee",
        member__last_name=last_name,
    )
    if stage is not None:
        CrmOpportunityFactory(
            contract=seat.contract,
            state=CrmOpportunity.State.OPEN,
            sales_stage=stage,
            estimated_value=value,
            owner_id=owner.crm_id if owner else None,
            contact_id=save.crm_record_id,
            **opportunity,
        )
    return save


def _names(response) -> list[str]:
    return [save.member.last_name for save in response.context["page"].object_list]


def test_a_lead_shows_its_opportunitys_stage_value_and_owner(login, seat_holder, connection, owner):
    _lead(seat_holder, "Adams", stage=5, value=Decimal("125000.5"), owner=owner)
    page = login(seat_holder).get(reverse("network:leads")).content.decode()
    assert "<td>Propose</td>" in page
    assert "125,001" in page
    assert "<td>Rita Rep</td>" in page


def test_the_seats_own_opportunity_comes_before_a_larger_one_of_someone_else(
    login, seat_holder, connection, owner, contract
):
    other = CrmUserFactory(contract=contract, full_name="Otto Other")
    save = _lead(seat_holder, "Adams", stage=2, value=Decimal(10), owner=owner)
    CrmOpportunityFactory(
        contract=contract,
        state=CrmOpportunity.State.OPEN,
        sales_stage=5,
        estimated_value=Decimal(99999),
        owner_id=other.crm_id,
        customer_id=save.crm_record_id,
    )
    row = login(seat_holder).get(reverse("network:leads")).context["page"].object_list[0]
    assert (row.opportunity_stage, row.opportunity_value, row.opportunity_owner) == (
        "Develop",
        Decimal(10),
        "Rita Rep",
    )


def test_closed_opportunities_and_other_contracts_do_not_count(
    login, seat_holder, connection, owner, outsider
):
    save = _lead(seat_holder, "Adams", stage=5, value=Decimal(10), owner=owner)
    CrmOpportunity.objects.update(state=CrmOpportunity.State.WON)
    CrmOpportunityFactory(
        contract=outsider.contract, state=0, sales_stage=5, contact_id=save.crm_record_id
    )
    row = login(seat_holder).get(reverse("network:leads")).context["page"].object_list[0]
    assert row.opportunity_stage is None and row.opportunity_value is None


def test_an_account_shows_the_opportunity_on_its_crm_account(login, seat_holder, connection, owner):
    save = SavedAccountFactory(seat=seat_holder, imported=True, crm_record_id=uuid.uuid4())
    CrmOpportunityFactory(
        contract=seat_holder.contract,
        state=0,
        sales_stage=7,
        estimated_value=Decimal(4200),
        owner_id=owner.crm_id,
        account_id=save.crm_record_id,
    )
    page = login(seat_holder).get(reverse("network:accounts")).content.decode()
    assert "<td>Qualify</td>" in page and "4,200" in page and "<td>Rita Rep</td>" in page


def test_the_last_activity_is_the_latest_message_or_note(login, seat_holder, connection):
    now = timezone.now()
    messaged = _lead(seat_holder, "Messaged")
    noted = _lead(seat_holder, "Noted")
    _lead(seat_holder, "Quiet")
    thread = ThreadFactory(seat=seat_holder, member=messaged.member, last_message_at=now)
    MessageFactory(thread=thread)
    NoteFactory(seat=seat_holder, member=noted.member, created_at=now - timedelta(days=2))
    NoteFactory(seat=seat_holder, member=messaged.member, created_at=now - timedelta(days=9))
    # Another seat's conversation with the same person is not this seat's activity.
    ThreadFactory(member=noted.member, last_message_at=now + timedelta(days=1))
    client = login(seat_holder)
    rows = {
        save.member.last_name: save.last_activity_at
        for save in client.get(reverse("network:leads")).context["page"].object_list
    }
    assert rows == {"Messaged": now, "Noted": now - timedelta(days=2), "Quiet": None}
    assert _names(client.get(reverse("network:leads"), {"sort": "-last_activity"})) == [
        "Messaged", "Noted", "Quiet",
    ]  # fmt: skip


def test_an_accounts_last_activity_counts_notes_on_it_and_messages_with_its_people(
    login, seat_holder, connection
):
    now = timezone.now()
    save = SavedAccountFactory(seat=seat_holder)
    NoteFactory(seat=seat_holder, on_account=True, company=save.company, created_at=now)
    person = MemberFactory(company=save.company)
    ThreadFactory(seat=seat_holder, member=person, last_message_at=now + timedelta(hours=1))
    row = login(seat_holder).get(reverse("network:accounts")).context["page"].object_list[0]
    assert row.last_activity_at == now + timedelta(hours=1)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Adams", "Baker", "Clark", "Drew"]),
        ("-name", ["Drew", "Clark", "Baker", "Adams"]),
        # The CRM's pipeline order (Qualify, Develop, Propose), not the option values; leads
        # on no open opportunity come last either way.
        ("stage", ["Clark", "Adams", "Baker", "Drew"]),
        ("-stage", ["Baker", "Adams", "Clark", "Drew"]),
        ("value", ["Baker", "Clark", "Adams", "Drew"]),
        ("-value", ["Adams", "Clark", "Baker", "Drew"]),
        ("owner", ["Clark", "Adams", "Baker", "Drew"]),
    ],
)
def test_the_leads_sort_by_each_column(
    login, seat_holder, connection, owner, contract, sort, expected
):
    aaron = CrmUserFactory(contract=contract, full_name="Aaron Able")
    _lead(seat_holder, "Adams", stage=2, value=Decimal(900), owner=owner)
    _lead(seat_holder, "Baker", stage=5, value=Decimal(100), owner=owner)
    _lead(seat_holder, "Clark", stage=7, value=Decimal(500), owner=aaron)
    _lead(seat_holder, "Drew")
    response = login(seat_holder).get(reverse("network:leads"), {"sort": sort})
    assert _names(response) == expected
    page = response.content.decode()
    direction = "descending" if sort.startswith("-") else "ascending"
    assert page.count("aria-sort=") == 1 and f'aria-sort="{direction}"' in page


def test_the_search_looks_in_name_headline_and_company(login, seat_holder, connection):
    _lead(seat_holder, "Adams").member.__class__.objects.filter(last_name="Adams").update(
        headline="VP Procurement"
    )
    _lead(seat_holder, "Baker")
    SavedLeadFactory(seat=seat_holder, member__company_name="Procurement Partners")
    client = login(seat_holder)
    found = client.get(reverse("network:leads"), {"q": "procurement"})
    assert len(found.context["page"].object_list) == 2
    assert _names(client.get(reverse("network:leads"), {"q": "bak"})) == ["Baker"]
    empty = client.get(reverse("network:leads"), {"q": "nobody at all"}).content.decode()
    assert "No saved leads match these filters." in empty


def test_the_accounts_search_and_sort(login, seat_holder, connection):
    for name, domain in (("Northwind", "northwind.test"), ("Fabrikam", "fab.test"),
                         ("Contoso", "contoso.test")):  # fmt: skip
        SavedAccountFactory(seat=seat_holder, company__name=name, company__domain=domain)
    client = login(seat_holder)

    def names(params):
        response = client.get(reverse("network:accounts"), params)
        return [save.company.name for save in response.context["page"].object_list]

    assert names({}) == ["Contoso", "Fabrikam", "Northwind"]
    assert names({"sort": "-name"}) == ["Northwind", "Fabrikam", "Contoso"]
    assert names({"sort": "website"}) == ["Contoso", "Fabrikam", "Northwind"]
    assert names({"q": "fab.test"}) == ["Fabrikam"]
    assert names({"sort": "no such column", "q": "", "source": "bogus"}) == [
        "Contoso", "Fabrikam", "Northwind",
    ]  # fmt: skip


def test_the_pages_keep_the_search_and_sort(login, seat_holder, connection):
    for number in range(60):
        _lead(seat_holder, f"Name{number:02}")
    page = login(seat_holder).get(reverse("network:leads"), {"q": "name", "sort": "-name"})
    html = page.content.decode()
    assert "q=name&amp;sort=-name&amp;page=2" in html
    assert _names(page)[0] == "Name59"


@pytest.mark.parametrize("kind", ["leads", "accounts"])
def test_a_fixed_number_of_queries_whatever_the_rows_and_the_sort(
    login, seat_holder, connection, owner, kind, django_assert_max_num_queries
):
    client = login(seat_holder)

    def add(count):
        for number in range(count):
            if kind == "leads":
                save = _lead(seat_holder, f"N{number}", stage=5, value=Decimal(number), owner=owner)
                ThreadFactory(seat=seat_holder, member=save.member)
                NoteFactory(seat=seat_holder, member=save.member)
            else:
                save = SavedAccountFactory(
                    seat=seat_holder, imported=True, crm_record_id=uuid.uuid4()
                )
                CrmOpportunityFactory(
                    contract=seat_holder.contract,
                    state=0,
                    sales_stage=2,
                    owner_id=owner.crm_id,
                    account_id=save.crm_record_id,
                )
                NoteFactory(seat=seat_holder, on_account=True, company=save.company)

    add(3)
    counts = {}
    for sort in ("name", "-stage", "value", "-owner", "last_activity"):
        with django_assert_max_num_queries(20) as few:
            client.get(reverse(f"network:{kind}"), {"sort": sort})
        counts[sort] = len(few.captured_queries)
    add(60)
    for sort in counts:
        with django_assert_max_num_queries(counts[sort]):
            page = client.get(reverse(f"network:{kind}"), {"sort": sort, "q": ""})
        assert len(page.context["page"].object_list) == 50
