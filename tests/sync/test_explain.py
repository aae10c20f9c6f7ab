"""*Why not imported?* names the rule that kept a contact, account or seat out."""

import pytest

from crm_settings.selectors import crm_settings_get
from seats.models import CrmSync
from sync.explain import Rule, accounts_explain, contacts_explain, seats_explain
from sync.models import CrmOpportunity, SeatCrmUser
from tests.factories import (
    CompanyFactory,
    CrmAccountFactory,
    CrmContactFactory,
    CrmOpportunityFactory,
    CrmUserFactory,
    MemberFactory,
    SavedAccountFactory,
    SeatFactory,
)

pytestmark = pytest.mark.django_db
STAGES = [{"value": 0, "label": "Qualify"}, {"value": 1, "label": "Develop"}]


@pytest.fixture
def world(contract, seat_holder):
    owner = CrmUserFactory(contract=contract, email=seat_holder.user.email, full_name="Rita Rep")
    SeatCrmUser.objects.create(seat=seat_holder, crm_user=owner)
    account = CrmAccountFactory(contract=contract, company=CompanyFactory())
    contact = CrmContactFactory(contract=contract, member=MemberFactory())
    opportunity = CrmOpportunityFactory(
        contract=contract,
        owner_id=owner.crm_id,
        state=CrmOpportunity.State.OPEN,
        sales_stage=1,
        account_id=account.crm_id,
        contact_id=contact.crm_id,
    )
    return {
        "seat": seat_holder,
        "owner": owner,
        "account": account,
        "contact": contact,
        "opportunity": opportunity,
    }


def _contact(contract, world, seat=None):
    return contacts_explain(contract=contract, contacts=[world["contact"]], seat=seat)[
        world["contact"].pk
    ]


def _account(contract, world, seat=None):
    return accounts_explain(contract=contract, accounts=[world["account"]], seat=seat)[
        world["account"].pk
    ]


def test_an_imported_record_names_its_seats(contract, world):
    explanation = _contact(contract, world)
    assert explanation.imported
    assert explanation.seats == [world["seat"]]
    assert _account(contract, world).rule == Rule.IMPORTED


def test_no_open_opportunity(contract, world):
    world["opportunity"].state = CrmOpportunity.State.WON
    world["opportunity"].save()
    explanation = _contact(contract, world)
    assert explanation.rule == Rule.NO_OPEN_OPPORTUNITY
    assert explanation.reason == "No open opportunity in the CRM has this contact (1 closed)."
    lonely = CrmContactFactory(contract=contract)
    assert (
        contacts_explain(contract=contract, contacts=[lonely])[lonely.pk].rule
        == Rule.NO_OPEN_OPPORTUNITY
    )


def test_stage_before_the_gate(contract, world):
    world["opportunity"].sales_stage = 0
    world["opportunity"].save()
    crm_settings = crm_settings_get(contract=contract)
    crm_settings.pipeline_stage, crm_settings.pipeline_stage_label = 1, "Develop"
    crm_settings.pipeline_stage_options = STAGES
    crm_settings.save()
    explanation = _account(contract, world)
    assert explanation.rule == Rule.STAGE_BEFORE_GATE
    assert explanation.reason == (
        "Its open opportunities are at Qualify, before the pipeline stage Develop."
    )


def test_owner_not_mapped(contract, world):
    stranger = CrmUserFactory(contract=contract, full_name="Jordan Kim")
    world["opportunity"].owner_id = stranger.crm_id
    world["opportunity"].save()
    explanation = _contact(contract, world)
    assert explanation.rule == Rule.OWNER_NOT_MAPPED
    assert "owned by Jordan Kim, who has no seat" in explanation.reason


def test_for_one_seat_someone_elses_opportunity_is_not_yours(contract, world):
    other = SeatFactory(contract=contract)
    explanation = _contact(contract, world, seat=other)
    assert explanation.rule == Rule.OWNER_NOT_MAPPED
    assert "owned by Rita Rep, not by you" in explanation.reason
    assert _contact(contract, world, seat=world["seat"]).imported


def test_seat_sync_off(contract, world):
    world["seat"].crm_sync = CrmSync.OFF
    world["seat"].save()
    explanation = _account(contract, world)
    assert explanation.rule == Rule.SEAT_SYNC_OFF
    assert explanation.reason.startswith("CRM sync is off for")


def test_no_network_match(contract, world):
    world["contact"].member = None
    world["contact"].save()
    explanation = _contact(contract, world)
    assert explanation.rule == Rule.NO_NETWORK_MATCH
    assert "Nobody in the prospecting network matches this contact" in explanation.reason


class TestSeats:
    def _explain(self, contract, seat):
        return seats_explain(contract=contract, seats=[seat])[seat.pk]

    def test_imported(self, contract, world):
        SavedAccountFactory(seat=world["seat"], imported=True)
        explanation = self._explain(contract, world["seat"])
        assert explanation.imported
        assert explanation.reason == "1 accounts and 0 leads imported from 1 opportunities."

    def test_not_matched(self, contract):
        seat = SeatFactory(contract=contract, user__email="nobody@contoso.test")
        SeatCrmUser.objects.create(
            seat=seat, reason="No CRM user has the email nobody@contoso.test."
        )
        explanation = self._explain(contract, seat)
        assert explanation.rule == Rule.OWNER_NOT_MAPPED
        assert explanation.reason == "Not Matched: No CRM user has the email nobody@contoso.test."

    def test_sync_off(self, contract, world):
        crm_settings = crm_settings_get(contract=contract)
        crm_settings.auto_sync = False
        crm_settings.save()
        explanation = self._explain(contract, world["seat"])
        assert explanation.rule == Rule.SEAT_SYNC_OFF
        assert explanation.reason == "Auto sync is No and CRM sync is not enabled for this seat."

    def test_no_open_opportunity(self, contract, world):
        world["opportunity"].state = CrmOpportunity.State.LOST
        world["opportunity"].save()
        explanation = self._explain(contract, world["seat"])
        assert explanation.rule == Rule.NO_OPEN_OPPORTUNITY
        assert explanation.reason == "Rita Rep owns no open opportunity in the CRM."

    def test_stage_before_the_gate(self, contract, world):
        crm_settings = crm_settings_get(contract=contract)
        crm_settings.pipeline_stage, crm_settings.pipeline_stage_label = 2, "Propose"
        crm_settings.pipeline_stage_options = [*STAGES, {"value": 2, "label": "Propose"}]
        crm_settings.save()
        assert self._explain(contract, world["seat"]).rule == Rule.STAGE_BEFORE_GATE

    def test_no_network_match(self, contract, world):
        assert self._explain(contract, world["seat"]).rule == Rule.NO_NETWORK_MATCH

    def test_admin_only_seats(self, contract, admin_only):
        assert self._explain(contract, admin_only).reason.startswith("Admin only seats")


def test_a_page_of_explanations_costs_a_fixed_number_of_queries(
    contract, world, django_assert_num_queries
):
    crm_settings_get(contract=contract)
    with django_assert_num_queries(4) as few:
        contacts_explain(contract=contract, contacts=[world["contact"]])
    contacts = [CrmContactFactory(contract=contract) for _ in range(20)]
    for contact in contacts:
        CrmOpportunityFactory(
            contract=contract, owner_id=CrmUserFactory(contract=contract).crm_id,
            contact_id=contact.crm_id,
        )  # fmt: skip
    with django_assert_num_queries(len(few.captured_queries)):
        contacts_explain(contract=contract, contacts=contacts)
