""" "A seat takes part in CRM sync": one definition, read three ways, agreeing in every state.

The import filters seats with ``crm_sync_on_q`` and a bool (one contract's answer); Seat
Management annotates them with ``crm_sync_on_q`` and an expression (each row's own contract);
explanations ask ``Seat.crm_sync_on`` of one seat. Each is checked against the rule written out
plainly, for every role, seat choice and auto-sync answer.
"""

import itertools

import pytest
from django.db.models import BooleanField, Case, Value, When

from seats.models import CrmSync, Role, Seat, crm_sync_on_q
from tests.factories import ContractFactory, SeatFactory

pytestmark = pytest.mark.django_db

ROLES = tuple(Role)
CHOICES = tuple(CrmSync)
AUTO_SYNC = (True, False)


def _plain_rule(role, crm_sync, auto_sync) -> bool:
    if role == Role.ADMIN_ONLY:
        return False  # no Accounts or Leads to import into
    return crm_sync == CrmSync.ON or (crm_sync == CrmSync.DEFAULT and auto_sync)


@pytest.fixture
def seats_by_state():
    """A contract per auto-sync answer, with a seat of every role and choice."""
    seats = {}
    for auto_sync in AUTO_SYNC:
        contract = ContractFactory()
        for role, crm_sync in itertools.product(ROLES, CHOICES):
            seat = SeatFactory(contract=contract, role=role, crm_sync=crm_sync)
            seats[seat.pk] = (role, crm_sync, auto_sync)
    return seats


def test_the_filter_with_one_answer_follows_the_rule(seats_by_state):
    for auto_sync in AUTO_SYNC:
        contract_seats = [pk for pk, state in seats_by_state.items() if state[2] is auto_sync]
        found = set(
            Seat.objects.filter(pk__in=contract_seats)
            .filter(crm_sync_on_q(auto_sync=auto_sync))
            .values_list("pk", flat=True)
        )
        expected = {pk for pk in contract_seats if _plain_rule(*seats_by_state[pk])}
        assert found == expected, auto_sync


def test_the_filter_with_an_answer_per_row_follows_the_rule(seats_by_state):
    """Each row's answer as an expression, as Seat Management reads it from CRM Settings."""
    auto_sync_seats = [pk for pk, (_, _, auto_sync) in seats_by_state.items() if auto_sync]
    answer = Case(
        When(pk__in=auto_sync_seats, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    found = set(Seat.objects.filter(crm_sync_on_q(auto_sync=answer)).values_list("pk", flat=True))
    assert found == {pk for pk, state in seats_by_state.items() if _plain_rule(*state)}


def test_the_check_for_one_seat_follows_the_rule(seats_by_state):
    for seat in Seat.objects.filter(pk__in=seats_by_state):
        role, crm_sync, auto_sync = seats_by_state[seat.pk]
        expected = _plain_rule(role, crm_sync, auto_sync)
        assert seat.crm_sync_on(auto_sync=auto_sync) is expected, seats_by_state[seat.pk]
