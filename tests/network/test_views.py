"""The seat holder's Accounts and Leads, and the company and member pages."""

import pytest
from django.urls import reverse

from sync.models import CrmOpportunity, SeatCrmUser
from tests.factories import (
    CompanyFactory,
    CrmAccountFactory,
    CrmConnectionFactory,
    CrmContactFactory,
    CrmOpportunityFactory,
    CrmUserFactory,
    MemberFactory,
    SavedAccountFactory,
    SavedLeadFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(contract):
    return CrmConnectionFactory(
        contract=contract, environment_url="https://contoso.crm.dynamics.com"
    )


def test_imported_accounts_carry_the_badge_and_the_dynamics_link(login, seat_holder, connection):
    imported = SavedAccountFactory(seat=seat_holder, imported=True, company__name="From CRM")
    imported.crm_record_id = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    imported.save()
    SavedAccountFactory(seat=seat_holder, company__name="By hand")
    page = login(seat_holder).get(reverse("network:accounts")).content.decode()
    assert "From CRM" in page and "By hand" in page
    assert page.count(">In CRM<") == 1
    assert (
        "https://contoso.crm.dynamics.com/main.aspx?pagetype=entityrecord&amp;etn=account"
        "&amp;id=3f2504e0-4f89-11d3-9a0c-0305e82c3301" in page
    )
    assert reverse("network:account", args=[imported.company_id]) in page


@pytest.mark.parametrize(
    ("source", "shown", "hidden"),
    [("crm", "Imported Ida", "Handy Hal"), ("manual", "Handy Hal", "Imported Ida")],
)
def test_the_from_crm_filter(login, seat_holder, source, shown, hidden):
    SavedLeadFactory(
        seat=seat_holder, imported=True, member__first_name="Imported", member__last_name="Ida"
    )
    SavedLeadFactory(seat=seat_holder, member__first_name="Handy", member__last_name="Hal")
    page = login(seat_holder).get(reverse("network:leads"), {"source": source}).content.decode()
    assert shown in page and hidden not in page


def test_the_seats_own_status_is_shown(login, seat_holder, connection):
    page = login(seat_holder).get(reverse("network:accounts")).content.decode()
    assert "CRM sync:" in page and "Not Matched: No sync has mapped this seat yet." in page


def test_other_seats_saves_are_not_shown(login, seat_holder, admin):
    SavedAccountFactory(seat=admin, company__name="Admin's company")
    page = login(seat_holder).get(reverse("network:accounts")).content.decode()
    assert "Admin's company" not in page


@pytest.mark.parametrize(("url", "factory"), [("network:accounts", SavedAccountFactory),
                                              ("network:leads", SavedLeadFactory)])  # fmt: skip
def test_a_fixed_number_of_queries_at_10_and_500_rows(
    login, seat_holder, connection, url, factory, django_assert_max_num_queries
):
    client = login(seat_holder)
    factory.create_batch(10, seat=seat_holder, imported=True)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse(url))
    factory.create_batch(490, seat=seat_holder, imported=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse(url)).content.decode()
    assert "Page 1 of 10" in page


@pytest.fixture
def crm_deal(contract, seat_holder, connection):
    """A company and a member that match CRM records on an opportunity owned by the seat."""
    owner = CrmUserFactory(contract=contract, email=seat_holder.user.email)
    SeatCrmUser.objects.create(seat=seat_holder, crm_user=owner)
    company, member = CompanyFactory(name="Zeta"), MemberFactory(first_name="Zoe")
    account = CrmAccountFactory(contract=contract, company=company, match_method="domain")
    contact = CrmContactFactory(contract=contract, member=member, match_method="email")
    opportunity = CrmOpportunityFactory(
        contract=contract,
        owner_id=owner.crm_id,
        state=CrmOpportunity.State.OPEN,
        account_id=account.crm_id,
        contact_id=contact.crm_id,
    )
    return {"company": company, "member": member, "opportunity": opportunity}


def test_the_company_page_says_it_was_imported(login, seat_holder, crm_deal):
    page = login(seat_holder).get(reverse("network:account", args=[crm_deal["company"].pk]))
    page = page.content.decode()
    assert "In your CRM" in page and ">Imported<" in page
    assert "matched by website domain" in page


def test_the_member_page_says_why_not_imported(login, seat_holder, crm_deal):
    crm_deal["opportunity"].state = CrmOpportunity.State.LOST
    crm_deal["opportunity"].save()
    page = login(seat_holder).get(reverse("network:lead", args=[crm_deal["member"].pk]))
    page = page.content.decode()
    assert "Why not imported?" in page
    assert "No open opportunity: No open opportunity in the CRM has this contact (1 closed)." in (
        page
    )


def test_a_company_no_crm_record_matches(login, seat_holder, connection):
    company = CompanyFactory()
    page = login(seat_holder).get(reverse("network:account", args=[company.pk])).content.decode()
    assert "No account in your CRM matches this company" in page


def test_another_contracts_crm_records_are_not_shown(login, seat_holder, outsider, connection):
    company = CompanyFactory()
    CrmAccountFactory(contract=outsider.contract, company=company, name="Their account")
    page = login(seat_holder).get(reverse("network:account", args=[company.pk])).content.decode()
    assert "Their account" not in page


def test_unknown_companies_and_members_are_not_found(login, seat_holder):
    client = login(seat_holder)
    assert client.get(reverse("network:account", args=[999999])).status_code == 404
    assert client.get(reverse("network:lead", args=[999999])).status_code == 404


def test_admin_only_seats_have_no_network_pages(login, admin_only):
    company = CompanyFactory()
    assert login(admin_only).get(reverse("network:account", args=[company.pk])).status_code == 403
