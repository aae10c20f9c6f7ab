"""Rows to mirror: bad CRM data becomes problems, matching keys, and a page's fixed query cost."""

import uuid

import pytest
from django.db import connection

from sync.mirror import (
    ACCOUNTS,
    CONTACTS,
    CURRENCIES,
    OPPORTUNITIES,
    USERS,
    ReadContext,
    mirror_page_write,
    mirror_rematch,
    network_grew_since,
    page_convert,
)
from sync.models import (
    CrmAccount,
    CrmContact,
    CrmCurrency,
    CrmOpportunity,
    CrmUser,
    MatchMethod,
    SyncProblem,
)
from tests.factories import (
    CompanyFactory,
    CrmAccountFactory,
    CrmContactFactory,
    MemberFactory,
    SyncRunFactory,
)

pytestmark = pytest.mark.django_db


def _id() -> str:
    return str(uuid.uuid4())


def _write(table, rows, *, contract, deleted=(), context=None):
    run = SyncRunFactory(contract=contract)
    context = context or ReadContext(contract_id=contract.pk)
    page = page_convert(
        table=table, context=context, rows=rows, deleted_ids=list(deleted), mark=run.pk
    )
    counts = mirror_page_write(table=table, page=page, context=context, run_id=run.pk)
    return counts, list(SyncProblem.objects.filter(run=run).values_list("reason", flat=True))


def _opportunity(**values):
    return {
        "opportunityid": _id(),
        "name": "Big deal",
        "statecode": 0,
        "salesstage": 1,
        "_ownerid_value": _id(),
        "_parentaccountid_value": _id(),
        "estimatedvalue": 1000.5,
        "actualvalue": None,
        "modifiedon": "2025-03-01T10:00:00Z",
        **values,
    }


class TestBadCrmData:
    def test_a_row_without_an_id_is_skipped_and_reported(self, contract):
        counts, problems = _write(ACCOUNTS, [{"name": "Acme"}], contract=contract)
        assert counts.failed == 1 and counts.created == 0
        assert problems == ["Account without a usable accountid."]

    def test_a_missing_name_is_kept_and_reported(self, contract):
        counts, problems = _write(ACCOUNTS, [{"accountid": _id(), "name": None}], contract=contract)
        assert counts.created == 1
        assert problems == ["Account has no name; it can only match a company by website."]

    def test_a_contact_without_an_account_is_kept_and_reported(self, contract):
        row = {"contactid": _id(), "firstname": "Ada", "lastname": "Lane"}
        counts, problems = _write(CONTACTS, [row], contract=contract)
        assert counts.created == 1
        assert problems == [
            "Contact Ada Lane has no account (Company Name), so it can only match a network "
            "member by email or profile URL."
        ]

    def test_a_value_of_the_wrong_type_is_left_empty_and_reported(self, contract):
        row = _opportunity(salesstage="two", estimatedvalue="lots", _parentaccountid_value="x")
        _, problems = _write(OPPORTUNITIES, [row], contract=contract)
        opportunity = CrmOpportunity.objects.get()
        assert opportunity.sales_stage is None
        assert opportunity.estimated_value is None
        assert opportunity.account_id is None
        assert (
            "Opportunity Big deal: column salesstage holds 'two', not a whole number"
            in (problems[0])
        )
        assert any("column estimatedvalue holds 'lots', not an amount" in p for p in problems)
        assert any("column _parentaccountid_value holds 'x', not a GUID" in p for p in problems)

    def test_an_unexpected_picklist_value_is_stored_as_read_and_reported(self, contract):
        context = ReadContext(
            contract_id=contract.pk, stage_labels={0: "Qualify", 1: "Develop", 2: "Propose"}
        )
        rows = [_opportunity(statecode=7), _opportunity(salesstage=9)]
        _, problems = _write(OPPORTUNITIES, rows, contract=contract, context=context)
        assert sorted(CrmOpportunity.objects.values_list("state", "sales_stage")) == [
            (0, 9),
            (7, 1),
        ]
        assert any("statecode 7 is not Open (0), Won (1) or Lost (2)" in p for p in problems)
        assert any(
            "salesstage 9 is not one of the CRM's stages (Qualify (0), Develop (1), Propose (2))"
            in p
            for p in problems
        )

    def test_an_unknown_owner_is_reported(self, contract):
        known = _id()
        context = ReadContext(contract_id=contract.pk, user_ids=frozenset({known}))
        rows = [_opportunity(_ownerid_value=known), _opportunity(_ownerid_value=_id())]
        _, problems = _write(OPPORTUNITIES, rows, contract=contract, context=context)
        assert len(problems) == 1
        assert "not a CRM user the portal can read (a team" in problems[0]

    def test_the_won_value_comes_from_the_chosen_column_on_won_opportunities_only(self, contract):
        context = ReadContext(contract_id=contract.pk, won_value_column="new_wonamount")
        won = _opportunity(statecode=1, new_wonamount=950.25, actualvalue=1000)
        still_open = _opportunity(statecode=0, new_wonamount=10)
        _write(OPPORTUNITIES, [won, still_open], contract=contract, context=context)
        values = dict(CrmOpportunity.objects.values_list("state", "won_value"))
        assert values[1] == pytest.approx(950.25)
        assert values[0] is None

    def test_a_won_opportunity_keeps_its_close_date_and_currency(self, contract):
        euro = _id()
        rows = [
            _opportunity(statecode=1, actualvalue=900, actualclosedate="2026-03-31",
                         _transactioncurrencyid_value=euro),
            # A UserLocal date column comes as a moment in UTC: its UTC date is kept.
            _opportunity(statecode=1, actualvalue=5, actualclosedate="2026-04-01T22:30:00Z"),
        ]  # fmt: skip
        _, problems = _write(OPPORTUNITIES, rows, contract=contract)
        assert problems == []
        stored = CrmOpportunity.objects.order_by("actual_close_date")
        assert [str(o.actual_close_date) for o in stored] == ["2026-03-31", "2026-04-01"]
        assert str(stored[0].currency_id) == euro
        assert stored[0].won_saves_checked is False and stored[0].first_saved_at is None

    def test_a_close_date_that_is_no_date_is_left_empty_and_reported(self, contract):
        rows = [_opportunity(statecode=1, actualclosedate="2026-02-30")]
        _, problems = _write(OPPORTUNITIES, rows, contract=contract)
        assert CrmOpportunity.objects.get().actual_close_date is None
        assert problems == [
            "Opportunity Big deal: column actualclosedate holds '2026-02-30', not a date; it "
            "was left empty."
        ]

    def test_currencies_keep_their_code_symbol_and_name(self, contract):
        rows = [
            {"transactioncurrencyid": _id(), "isocurrencycode": "eur", "currencysymbol": "€",
             "currencyname": "Euro"},
            {"transactioncurrencyid": _id(), "isocurrencycode": None, "currencyname": "Points"},
        ]  # fmt: skip
        _, problems = _write(CURRENCIES, rows, contract=contract)
        assert sorted(CrmCurrency.objects.values_list("iso_code", "symbol", "name")) == [
            ("", "", "Points"),
            ("EUR", "€", "Euro"),
        ]
        assert problems == [
            "Currency Points has no currency code; its amounts are shown with its name."
        ]

    def test_the_select_has_the_chosen_columns(self):
        context = ReadContext(
            contract_id=1, won_value_column="new_wonamount", profile_url_column="new_linkedin"
        )
        assert "new_wonamount" in OPPORTUNITIES.select(context)
        assert "new_linkedin" in CONTACTS.select(context)
        assert "new_linkedin" not in CONTACTS.select(ReadContext(contract_id=1))


class TestUpserts:
    def test_a_second_write_updates_and_counts_it(self, contract):
        row = {"accountid": _id(), "name": "Acme"}
        counts, _ = _write(ACCOUNTS, [row], contract=contract)
        assert (counts.created, counts.updated) == (1, 0)
        counts, _ = _write(ACCOUNTS, [{**row, "name": "Acme Two"}], contract=contract)
        assert (counts.created, counts.updated) == (0, 1)
        assert CrmAccount.objects.get().name == "Acme Two"

    def test_deleted_ids_are_removed(self, contract):
        gone = CrmAccountFactory(contract=contract)
        counts, _ = _write(ACCOUNTS, [], contract=contract, deleted=[str(gone.crm_id)])
        assert counts.removed == 1
        assert not CrmAccount.objects.exists()

    def test_rows_of_another_contract_are_left_alone(self, contract, outsider):
        theirs = CrmAccountFactory(contract=outsider.contract, name="Theirs")
        row = {"accountid": str(theirs.crm_id), "name": "Ours"}
        _write(ACCOUNTS, [row], contract=contract)
        theirs.refresh_from_db()
        assert theirs.name == "Theirs"
        assert CrmAccount.objects.filter(contract=contract, name="Ours").exists()

    def test_system_users_are_lower_cased_for_the_seat_mapping(self, contract):
        row = {"systemuserid": _id(), "internalemailaddress": "Rep@Contoso.test"}
        _write(USERS, [row], contract=contract)
        assert CrmUser.objects.get().email == "rep@contoso.test"


class TestMatching:
    def test_contacts_match_by_email_then_profile_then_name_and_company(self, contract):
        company = CompanyFactory(name="Acme Inc", domain="acme.test")
        account = CrmAccountFactory(contract=contract, name="ACME, Inc.", name_key="acme")
        by_email = MemberFactory(email="ada@acme.test")
        by_profile = MemberFactory(email="", profile_url="https://www.linkedin.com/in/bob-b")
        by_name = MemberFactory(first_name="Cy", last_name="Dee", company=company, email="")
        context = ReadContext(contract_id=contract.pk, profile_url_column="new_linkedin")
        rows = [
            {"contactid": _id(), "firstname": "Ada", "emailaddress1": "ADA@acme.test"},
            {"contactid": _id(), "firstname": "Bob", "new_linkedin": "linkedin.com/in/Bob-B/"},
            {
                "contactid": _id(),
                "firstname": "Cy",
                "lastname": "Dee",
                "_parentcustomerid_value": str(account.crm_id),
            },
            {"contactid": _id(), "firstname": "Nobody", "emailaddress1": "no@where.test"},
        ]
        counts, _ = _write(CONTACTS, rows, contract=contract, context=context)
        matches = dict(CrmContact.objects.values_list("first_name", "member_id"))
        methods = dict(CrmContact.objects.values_list("first_name", "match_method"))
        assert matches == {
            "Ada": by_email.pk,
            "Bob": by_profile.pk,
            "Cy": by_name.pk,
            "Nobody": None,
        }
        assert methods == {
            "Ada": MatchMethod.EMAIL,
            "Bob": MatchMethod.PROFILE_URL,
            "Cy": MatchMethod.NAME_COMPANY,
            "Nobody": MatchMethod.NONE,
        }
        assert counts.unmatched == 1

    def test_a_name_shared_by_two_members_matches_nobody(self, contract):
        company = CompanyFactory(name="Acme")
        account = CrmAccountFactory(contract=contract, name="Acme", name_key="acme")
        MemberFactory.create_batch(2, first_name="Cy", last_name="Dee", company=company, email="")
        row = {
            "contactid": _id(),
            "firstname": "Cy",
            "lastname": "Dee",
            "_parentcustomerid_value": str(account.crm_id),
        }
        counts, _ = _write(CONTACTS, [row], contract=contract)
        assert counts.unmatched == 1
        assert CrmContact.objects.get().member is None

    def test_accounts_match_by_domain_then_by_name(self, contract):
        by_domain = CompanyFactory(name="Other name", domain="acme.test")
        by_name = CompanyFactory(name="Globex Corporation", domain="")
        rows = [
            {"accountid": _id(), "name": "Acme", "websiteurl": "https://www.acme.test/about"},
            {"accountid": _id(), "name": "GLOBEX corp.", "websiteurl": None},
            {"accountid": _id(), "name": "Initech"},
        ]
        counts, _ = _write(ACCOUNTS, rows, contract=contract)
        found = {a.name: (a.company_id, a.match_method) for a in CrmAccount.objects.all()}
        assert found == {
            "Acme": (by_domain.pk, MatchMethod.DOMAIN),
            "GLOBEX corp.": (by_name.pk, MatchMethod.NAME),
            "Initech": (None, MatchMethod.NONE),
        }
        assert counts.unmatched == 1

    def test_unmatched_rows_match_when_the_network_grows(self, contract):
        contact = CrmContactFactory(contract=contract, email="late@acme.test")
        since = contact.contract.created_at
        assert mirror_rematch(contract_id=contract.pk) == 0
        member = MemberFactory(email="late@acme.test")
        # What a run asks before matching again (``sync.services``).
        assert network_grew_since(since)
        assert mirror_rematch(contract_id=contract.pk) == 1
        contact.refresh_from_db()
        assert (contact.member, contact.match_method) == (member, MatchMethod.EMAIL)


def _contacts(n: int, account) -> list[dict]:
    return [
        {
            "contactid": _id(),
            "firstname": f"First{i}",
            "lastname": f"Last{i}",
            "emailaddress1": f"person{i}@acme.test",
            "_parentcustomerid_value": str(account.crm_id),
            "modifiedon": "2025-03-01T10:00:00Z",
        }
        for i in range(n)
    ]


def test_a_page_costs_the_same_queries_small_or_big(contract, django_assert_max_num_queries):
    """GIVEN pages of 3 and of many contacts, some with problems, some deleted ids
    THEN both are written with the same number of queries (no query per row)."""
    account = CrmAccountFactory(contract=contract, name="Acme", name_key="acme")
    MemberFactory.create_batch(3)
    run = SyncRunFactory(contract=contract)
    # SQLite runs executemany as one query as well, so a big page is cheap to test on both.
    big = 2000 if connection.vendor == "postgresql" else 600
    cost = []
    for size in (3, big):
        rows = _contacts(size, account) + [{"contactid": _id()}]  # one without a name
        page = page_convert(
            table=CONTACTS,
            context=ReadContext(contract_id=contract.pk),
            rows=rows,
            deleted_ids=[_id(), _id()],
            mark=run.pk,
        )
        with django_assert_max_num_queries(20) as captured:
            mirror_page_write(
                table=CONTACTS,
                page=page,
                context=ReadContext(contract_id=contract.pk),
                run_id=run.pk,
            )
        cost.append(len(captured.captured_queries))
    assert cost[0] == cost[1]
    assert CrmContact.objects.count() == 3 + big + 2


def test_text_with_tabs_backslashes_and_line_breaks_arrives_intact(contract):
    """PostgreSQL's COPY text format escapes these; the value must come out as it went in."""
    name = "Tab\there, back\\slash, new\nline, return\r, nul\x00"
    _write(ACCOUNTS, [{"accountid": _id(), "name": name}], contract=contract)
    assert CrmAccount.objects.get().name == name.replace("\x00", "")
