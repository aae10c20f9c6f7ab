"""The match report: shares per entity and method, and every unmatched record, filterable and
exported in full."""

import csv
import io

import pytest
from django.urls import reverse

from sync.models import MatchMethod
from tests.factories import (
    CompanyFactory,
    CrmAccountFactory,
    CrmConnectionFactory,
    CrmContactFactory,
    MemberFactory,
)

pytestmark = pytest.mark.django_db

PAGE = reverse("reports:matches")
CSV = reverse("reports:matches_csv")


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def _contacts(contract, method, n, **extra):
    member = {} if method == MatchMethod.NONE else {"member": MemberFactory()}
    return [
        CrmContactFactory(contract=contract, match_method=method, **member, **extra)
        for _ in range(n)
    ]


def test_the_shares_are_per_entity_and_per_method(login, admin, contract):
    _contacts(contract, MatchMethod.EMAIL, 5)
    _contacts(contract, MatchMethod.NAME_COMPANY, 2)
    _contacts(contract, MatchMethod.NONE, 3)
    CrmAccountFactory(contract=contract, match_method=MatchMethod.DOMAIN, company=CompanyFactory())
    CrmAccountFactory(contract=contract)

    summaries = {s.entity: s for s in login(admin).get(PAGE).context["summaries"]}

    contacts = summaries["contacts"]
    assert (contacts.total, contacts.matched, contacts.unmatched) == (10, 7, 3)
    assert (contacts.matched_share, contacts.unmatched_share) == (70.0, 30.0)
    assert [(m.method, m.count, m.share) for m in contacts.methods] == [
        ("email", 5, 50.0),
        ("profile_url", 0, 0.0),
        ("name_company", 2, 20.0),
    ]
    accounts = summaries["accounts"]
    assert [(m.label, m.count) for m in accounts.methods] == [("Website domain", 1), ("Name", 0)]
    assert accounts.unmatched == 1


def test_the_list_shows_the_unmatched_records_by_default(login, admin, contract):
    lonely = _contacts(contract, MatchMethod.NONE, 1, full_name="Nobody Known")[0]
    _contacts(contract, MatchMethod.EMAIL, 1, full_name="Found Person")

    page = login(admin).get(PAGE).context["page"]

    assert [c.pk for c in page.object_list] == [lonely.pk]


def test_the_list_filters_by_entity_method_and_search(login, admin, contract):
    CrmAccountFactory(contract=contract, name="Umbrella Corp", website="https://umbrella.test")
    CrmAccountFactory(contract=contract, name="Initech")
    CrmAccountFactory(
        contract=contract, name="Umbrella Named", match_method=MatchMethod.NAME,
        company=CompanyFactory(),
    )  # fmt: skip
    client = login(admin)

    unmatched = client.get(PAGE, {"entity": "accounts", "q": "umbrella"}).context["page"]
    by_name = client.get(PAGE, {"entity": "accounts", "method": "name"}).context["page"]

    assert [a.name for a in unmatched.object_list] == ["Umbrella Corp"]
    assert [a.name for a in by_name.object_list] == ["Umbrella Named"]


def test_a_method_the_entity_never_matches_by_is_refused_with_a_message(login, admin, contract):
    response = login(admin).get(PAGE, {"entity": "accounts", "method": "email"})
    assert response.status_code == 200
    assert "Accounts are never matched by email" in response.content.decode()
    assert login(admin).get(PAGE, {"entity": "planets"}).status_code == 200


def test_contacts_show_their_account_and_a_link_to_dynamics(login, admin, contract):
    CrmConnectionFactory(contract=contract)
    account = CrmAccountFactory(contract=contract, name="Globex")
    contact = CrmContactFactory(contract=contract, account_id=account.crm_id, full_name="Hank S")

    page = login(admin).get(PAGE).content.decode()

    assert "Globex" in page
    assert f"etn=contact&amp;id={contact.crm_id}" in page


def test_another_contracts_records_are_never_counted_or_listed(login, admin, outsider):
    _contacts(outsider.contract, MatchMethod.NONE, 4)

    response = login(admin).get(PAGE)

    assert all(s.total == 0 for s in response.context["summaries"])
    assert list(response.context["page"].object_list) == []
    assert _csv(login(admin).get(CSV)) == []


def test_the_csv_holds_every_unmatched_record_not_only_a_page(login, admin, contract):
    account = CrmAccountFactory(contract=contract, name="Acme")
    _contacts(contract, MatchMethod.NONE, 120, account_id=account.crm_id, email="x@acme.test")
    _contacts(contract, MatchMethod.EMAIL, 3)

    response = login(admin).get(CSV)

    assert "contacts-unmatched" in response["Content-Disposition"]
    rows = _csv(response)
    assert len(rows) == 120
    assert set(rows[0]) == {
        "Name", "Email", "Job title", "Account", "Profile URL", "Match", "CRM id",
    }  # fmt: skip
    assert {(r["Account"], r["Match"], r["Email"]) for r in rows} == {
        ("Acme", "Not matched", "x@acme.test")
    }


def test_the_csv_of_a_method_and_a_search(login, admin, contract):
    CrmAccountFactory(
        contract=contract, name="Wayne", match_method="domain", company=CompanyFactory()
    )
    CrmAccountFactory(
        contract=contract, name="Stark", match_method="domain", company=CompanyFactory()
    )

    rows = _csv(login(admin).get(CSV, {"entity": "accounts", "method": "domain", "q": "way"}))

    assert [(r["Name"], r["Match"]) for r in rows] == [("Wayne", "Website domain")]


@pytest.mark.parametrize("size", [3, 60])
def test_the_page_costs_the_same_queries_at_any_size(
    login, admin, contract, size, django_assert_max_num_queries
):
    CrmConnectionFactory(contract=contract)
    account = CrmAccountFactory(contract=contract)
    _contacts(contract, MatchMethod.NONE, size, account_id=account.crm_id)
    client = login(admin)
    # Session, user, seat; two summaries; the list counted and paged; the connection.
    with django_assert_max_num_queries(8):
        client.get(PAGE)
    with django_assert_max_num_queries(4):
        assert len(_csv(client.get(CSV))) == size
