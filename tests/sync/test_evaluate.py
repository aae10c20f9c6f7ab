"""The rules that turn mirrored opportunities into saved Accounts and Leads (no emulator needed)."""

import pytest

from crm_settings.selectors import crm_settings_get
from network.models import SavedAccount, SavedLead
from seats.models import CrmSync
from sync.evaluate import saves_evaluate, stage_gate
from sync.models import CrmOpportunity, SeatCrmUser
from tests.factories import (
    CompanyFactory,
    CrmAccountFactory,
    CrmContactFactory,
    CrmOpportunityFactory,
    CrmUserFactory,
    MemberFactory,
    SavedAccountFactory,
    SavedLeadFactory,
    SeatFactory,
)

pytestmark = pytest.mark.django_db
STAGES = [
    {"value": 0, "label": "Qualify"},
    {"value": 1, "label": "Develop"},
    {"value": 2, "label": "Propose"},
    {"value": 3, "label": "Close"},
]


@pytest.fixture
def crm(contract, seat_holder):
    """A mapped seat holder who owns one open opportunity at Develop, on a matched account with
    a matched contact."""
    owner = CrmUserFactory(contract=contract, email=seat_holder.user.email)
    SeatCrmUser.objects.create(seat=seat_holder, crm_user=owner)
    company, member = CompanyFactory(), MemberFactory()
    account = CrmAccountFactory(contract=contract, company=company, match_method="domain")
    contact = CrmContactFactory(contract=contract, member=member, match_method="email")
    opportunity = CrmOpportunityFactory(
        contract=contract,
        owner_id=owner.crm_id,
        state=CrmOpportunity.State.OPEN,
        sales_stage=1,
        account_id=account.crm_id,
        contact_id=contact.crm_id,
        customer_id=account.crm_id,
    )
    return {
        "seat": seat_holder,
        "owner": owner,
        "company": company,
        "member": member,
        "account": account,
        "contact": contact,
        "opportunity": opportunity,
    }


def _evaluate(contract, **answers):
    crm_settings = crm_settings_get(contract=contract)
    for name, value in answers.items():
        setattr(crm_settings, name, value)
    crm_settings.save()
    # The rules on a mirror the tests change directly (no import noting what changed): decide all.
    return saves_evaluate(contract=contract, crm_settings=crm_settings, full=True)


def _saves(seat):
    accounts = set(
        SavedAccount.objects.filter(seat=seat).values_list(
            "company_id", "from_crm", "saved_by_hand"
        )
    )
    leads = set(
        SavedLead.objects.filter(seat=seat).values_list("member_id", "from_crm", "saved_by_hand")
    )
    return accounts, leads


def test_an_open_opportunity_saves_its_account_and_contact(contract, crm):
    counts = _evaluate(contract)
    assert _saves(crm["seat"]) == (
        {(crm["company"].pk, True, False)},
        {(crm["member"].pk, True, False)},
    )
    account = SavedAccount.objects.get()
    assert account.crm_record_id == crm["account"].crm_id and account.imported_at
    assert SavedLead.objects.get().crm_record_id == crm["contact"].crm_id
    assert counts["accounts_added"] == counts["leads_added"] == 1


def test_running_it_again_changes_nothing(contract, crm):
    _evaluate(contract)
    counts = _evaluate(contract)
    assert set(counts.values()) == {0}


def test_a_customer_that_is_a_contact_is_a_lead_too(contract, crm):
    other = CrmContactFactory(contract=contract, member=MemberFactory(), match_method="email")
    crm["opportunity"].customer_id = other.crm_id
    crm["opportunity"].save()
    _evaluate(contract)
    assert SavedLead.objects.count() == 2


@pytest.mark.parametrize(
    ("stage", "chosen", "imported"),
    [
        (1, 1, True),  # at the stage
        (3, 1, True),  # beyond it
        (0, 1, False),  # before it
        (None, 1, False),  # no stage at all
        (0, None, True),  # Not Sure: every open one
        (None, None, True),
    ],
)
def test_the_stage_gate(contract, crm, stage, chosen, imported):
    crm["opportunity"].sales_stage = stage
    crm["opportunity"].save()
    _evaluate(contract, pipeline_stage=chosen, pipeline_stage_options=STAGES)
    assert SavedAccount.objects.exists() is imported


def test_at_or_beyond_follows_the_saved_pipeline_order(contract):
    """The order is the CRM's option order, not the option values."""
    crm_settings = crm_settings_get(contract=contract)
    crm_settings.pipeline_stage = 100000002
    crm_settings.pipeline_stage_options = [
        {"value": 100000003, "label": "First"},
        {"value": 100000002, "label": "Second"},
        {"value": 100000001, "label": "Third"},
    ]
    assert stage_gate(crm_settings) == [100000002, 100000001]
    crm_settings.pipeline_stage = None
    assert stage_gate(crm_settings) is None


@pytest.mark.parametrize("state", [CrmOpportunity.State.WON, CrmOpportunity.State.LOST, -1])
def test_closed_opportunities_import_nothing(contract, crm, state):
    crm["opportunity"].state = state
    crm["opportunity"].save()
    _evaluate(contract)
    assert not SavedAccount.objects.exists() and not SavedLead.objects.exists()


def test_an_owner_without_a_seat_imports_nothing(contract, crm):
    crm["opportunity"].owner_id = CrmUserFactory(contract=contract).crm_id
    crm["opportunity"].save()
    _evaluate(contract)
    assert not SavedAccount.objects.exists()


@pytest.mark.parametrize(
    ("auto_sync", "seat_sync", "imported"),
    [
        (True, CrmSync.DEFAULT, True),
        (False, CrmSync.DEFAULT, False),
        (False, CrmSync.ON, True),
        (True, CrmSync.OFF, False),
    ],
)
def test_seat_sync(contract, crm, auto_sync, seat_sync, imported):
    crm["seat"].crm_sync = seat_sync
    crm["seat"].save()
    _evaluate(contract, auto_sync=auto_sync)
    assert SavedAccount.objects.exists() is imported


def test_unmatched_records_save_nothing(contract, crm):
    crm["account"].company = None
    crm["account"].save()
    crm["contact"].member = None
    crm["contact"].save()
    _evaluate(contract)
    assert not SavedAccount.objects.exists() and not SavedLead.objects.exists()


def test_a_save_that_lost_its_last_reason_goes(contract, crm):
    _evaluate(contract)
    crm["opportunity"].state = CrmOpportunity.State.WON
    crm["opportunity"].save()
    counts = _evaluate(contract)
    assert not SavedAccount.objects.exists() and not SavedLead.objects.exists()
    assert counts["accounts_removed"] == counts["leads_removed"] == 1


def test_a_save_with_another_reason_stays(contract, crm):
    CrmOpportunityFactory(
        contract=contract,
        owner_id=crm["owner"].crm_id,
        state=CrmOpportunity.State.OPEN,
        sales_stage=2,
        account_id=crm["account"].crm_id,
    )
    _evaluate(contract)
    crm["opportunity"].state = CrmOpportunity.State.LOST
    crm["opportunity"].save()
    _evaluate(contract)
    assert SavedAccount.objects.filter(from_crm=True).exists()
    assert not SavedLead.objects.exists()


def test_hand_made_saves_are_never_touched_beyond_the_mark(contract, crm):
    """GIVEN the seat holder saved the company and the member by hand
    WHEN the import saves them too, then the opportunity closes
    THEN the saves stay, first marked from CRM, then unmarked."""
    SavedAccountFactory(seat=crm["seat"], company=crm["company"])
    SavedLeadFactory(seat=crm["seat"], member=crm["member"])
    _evaluate(contract)
    assert _saves(crm["seat"]) == (
        {(crm["company"].pk, True, True)},
        {(crm["member"].pk, True, True)},
    )
    crm["opportunity"].state = CrmOpportunity.State.WON
    crm["opportunity"].save()
    _evaluate(contract)
    assert _saves(crm["seat"]) == (
        {(crm["company"].pk, False, True)},
        {(crm["member"].pk, False, True)},
    )
    assert SavedAccount.objects.get().crm_record_id is None


def test_a_new_owner_takes_the_saves_over(contract, crm):
    other_seat = SeatFactory(contract=contract)
    other_owner = CrmUserFactory(contract=contract, email=other_seat.user.email)
    SeatCrmUser.objects.create(seat=other_seat, crm_user=other_owner)
    _evaluate(contract)
    crm["opportunity"].owner_id = other_owner.crm_id
    crm["opportunity"].save()
    _evaluate(contract)
    assert not SavedAccount.objects.filter(seat=crm["seat"]).exists()
    assert SavedAccount.objects.filter(seat=other_seat, from_crm=True).exists()


def test_another_contracts_saves_are_left_alone(contract, crm, outsider):
    theirs = SavedAccountFactory(seat=outsider, imported=True)
    _evaluate(contract)
    assert SavedAccount.objects.filter(pk=theirs.pk).exists()


def test_the_cost_does_not_grow_with_the_data(contract, crm, django_assert_num_queries):
    _evaluate(contract)
    # The settings (2) and the seats' inputs (1) once; per kind a savepoint, the notes taken,
    # nine statements, the notes deleted and what was decided recorded (4), its release (its own
    # transaction outside a test).
    with django_assert_num_queries(39) as few:
        _evaluate(contract)
    for _ in range(30):
        CrmOpportunityFactory(
            contract=contract,
            owner_id=crm["owner"].crm_id,
            state=CrmOpportunity.State.OPEN,
            sales_stage=2,
            account_id=CrmAccountFactory(contract=contract, company=CompanyFactory()).crm_id,
        )
    with django_assert_num_queries(len(few.captured_queries)):
        _evaluate(contract)
