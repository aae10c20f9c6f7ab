"""Seats map to CRM users by email (primary email or sign-in name), else *Not Matched*."""

import pytest

from sync.models import SeatCrmUser
from sync.users import seat_mappings_refresh
from tests.factories import CrmUserFactory, SeatFactory

pytestmark = pytest.mark.django_db


def _link(seat):
    return SeatCrmUser.objects.get(seat=seat)


def test_it_matches_the_primary_email_case_insensitively(contract, seat_holder):
    user = CrmUserFactory(contract=contract, email="rep@contoso.test", domain_name="x@y.test")
    SeatFactory(contract=contract, user__email="Other@Contoso.test")
    seat_mappings_refresh(contract=contract)
    assert _link(seat_holder).crm_user == user


def test_it_matches_the_sign_in_name(contract, seat_holder):
    user = CrmUserFactory(contract=contract, email="", domain_name="rep@contoso.test")
    seat_mappings_refresh(contract=contract)
    assert _link(seat_holder).crm_user == user


def test_no_match_says_why(contract, seat_holder):
    seat_mappings_refresh(contract=contract)
    link = _link(seat_holder)
    assert link.crm_user is None
    assert link.reason == "No CRM user has the email rep@contoso.test."


def test_a_disabled_user_does_not_count(contract, seat_holder):
    CrmUserFactory(contract=contract, email="rep@contoso.test", is_disabled=True, full_name="Rita")
    seat_mappings_refresh(contract=contract)
    assert "Rita (rep@contoso.test) is disabled" in _link(seat_holder).reason


def test_users_of_another_contract_never_match(contract, seat_holder, outsider):
    CrmUserFactory(contract=outsider.contract, email="rep@contoso.test")
    seat_mappings_refresh(contract=contract)
    assert _link(seat_holder).crm_user is None


def test_admin_only_seats_are_not_mapped(contract, admin_only):
    CrmUserFactory(contract=contract, email="adminonly@contoso.test")
    seat_mappings_refresh(contract=contract)
    assert not SeatCrmUser.objects.filter(seat=admin_only).exists()


def test_mapping_costs_the_same_queries_for_many_seats(contract, django_assert_num_queries):
    SeatFactory.create_batch(3, contract=contract)
    with django_assert_num_queries(3) as few:
        seat_mappings_refresh(contract=contract)
    SeatFactory.create_batch(60, contract=contract)
    with django_assert_num_queries(len(few.captured_queries)):
        seat_mappings_refresh(contract=contract)
