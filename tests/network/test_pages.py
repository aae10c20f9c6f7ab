"""The lead and account pages: the member or company, whether it is saved, and the notes slot."""

import pytest
from django.urls import reverse

from tests.factories import CompanyFactory, MemberFactory, SavedAccountFactory, SavedLeadFactory

pytestmark = pytest.mark.django_db


def test_a_lead_page_shows_the_member_and_the_seats_save(login, seat_holder):
    save = SavedLeadFactory(seat=seat_holder, imported=True, member__first_name="Jane")
    page = login(seat_holder).get(reverse("network:lead", args=[save.member_id])).content.decode()
    assert "Jane" in page and save.member.company.name in page
    assert "imported from your CRM" in page and "In CRM" in page
    # The notes panel is another app's, loaded by htmx.
    notes_url = reverse("inbox:lead_notes", args=[save.member_id])
    assert f'hx-get="{notes_url}"' in page
    assert f"?member_id={save.member_id}" in page


def test_a_member_nobody_saved_can_be_opened_too(login, seat_holder):
    member = MemberFactory()
    page = login(seat_holder).get(reverse("network:lead", args=[member.pk])).content.decode()
    assert "Not saved" in page


def test_an_account_page_shows_the_company_and_the_seats_save(login, seat_holder):
    save = SavedAccountFactory(seat=seat_holder, company__name="Northwind")
    url = reverse("network:account", args=[save.company_id])
    page = login(seat_holder).get(url).content.decode()
    assert "Northwind" in page and "Saved by you" in page
    assert reverse("inbox:account_notes", args=[save.company_id]) in page


def test_another_seats_save_does_not_show(login, seat_holder, admin):
    company = CompanyFactory()
    SavedAccountFactory(seat=admin, company=company)
    page = login(seat_holder).get(reverse("network:account", args=[company.pk])).content
    assert b"Not saved" in page


def test_the_lists_link_to_the_pages(login, seat_holder):
    lead = SavedLeadFactory(seat=seat_holder)
    account = SavedAccountFactory(seat=seat_holder)
    client = login(seat_holder)
    assert (
        reverse("network:lead", args=[lead.member_id])
        in client.get(reverse("network:leads")).content.decode()
    )
    assert (
        reverse("network:account", args=[account.company_id])
        in client.get(reverse("network:accounts")).content.decode()
    )


def test_unknown_members_and_companies_are_404(login, seat_holder):
    client = login(seat_holder)
    assert client.get(reverse("network:lead", args=[999])).status_code == 404
    assert client.get(reverse("network:account", args=[999])).status_code == 404


def test_admin_only_seats_have_no_lead_or_account_pages(login, admin_only):
    member = MemberFactory()
    client = login(admin_only)
    assert client.get(reverse("network:lead", args=[member.pk])).status_code == 403
    assert client.get(reverse("network:account", args=[member.company_id])).status_code == 403
