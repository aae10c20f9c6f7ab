"""The *In CRM* badge: "the CRM sync is successfully activated for an individual".

It shows when the contract is connected, the seat's CRM sync is on (its own choice, else the
contract's *Auto sync all seat holders with CRM?*), and the seat maps to a CRM user. The database
computes it (``seats_with_crm_state``), so these tests check every combination against the rule
written out plainly, and against the model's Python twin ``Seat.crm_sync_on``.
"""

import itertools

import pytest
from django.urls import reverse

from crm_settings.models import CrmSettings
from seats.models import Role, Seat
from sync.models import SeatCrmUser
from sync.seat_selectors import seats_with_crm_state
from tests.factories import ContractFactory, CrmConnectionFactory, CrmUserFactory, SeatFactory

pytestmark = pytest.mark.django_db

CONNECTED = (True, False)
AUTO_SYNC = (True, False, None)  # None: CRM Settings never saved (the default, Yes, applies)
CRM_SYNC = ("default", "on", "off")
MAPPING = ("mapped", "not_matched", "disabled_crm_user", "never_checked")
ROLES = (Role.SEAT_HOLDER, Role.ADMIN, Role.ADMIN_ONLY)


def _expected_in_crm(connected, auto_sync, crm_sync, mapping, role) -> bool:
    sync_on = crm_sync == "on" or (crm_sync == "default" and auto_sync is not False)
    return connected and role != Role.ADMIN_ONLY and sync_on and mapping == "mapped"


def _map(seat, mapping):
    contract = seat.contract
    if mapping == "mapped":
        SeatCrmUser.objects.create(
            seat=seat, crm_user=CrmUserFactory(contract=contract, email=seat.user.email)
        )
    elif mapping == "not_matched":
        SeatCrmUser.objects.create(seat=seat, reason="No CRM user has the email.")
    elif mapping == "disabled_crm_user":
        # What the mapping records for a user disabled in Dynamics: no CRM user, a reason.
        CrmUserFactory(contract=contract, email=seat.user.email, is_disabled=True)
        SeatCrmUser.objects.create(seat=seat, reason="The CRM user is disabled in Dynamics.")


def test_the_badge_follows_the_rule_in_every_state():
    expected = {}
    for connected, auto_sync in itertools.product(CONNECTED, AUTO_SYNC):
        contract = ContractFactory()
        if connected:
            CrmConnectionFactory(contract=contract)
        if auto_sync is not None:
            CrmSettings.objects.create(contract=contract, auto_sync=auto_sync)
        for crm_sync, mapping, role in itertools.product(CRM_SYNC, MAPPING, ROLES):
            seat = SeatFactory(contract=contract, role=role, crm_sync=crm_sync)
            _map(seat, mapping)
            state = (connected, auto_sync, crm_sync, mapping, role)
            expected[seat.pk] = (state, _expected_in_crm(*state))

    seats = seats_with_crm_state(Seat.objects.all())
    assert len(seats) == len(expected) == 2 * 3 * 3 * 4 * 3
    for seat in seats:
        state, in_crm = expected[seat.pk]
        assert seat.in_crm is in_crm, state
        _, auto_sync, *_ = state
        python_twin = seat.crm_sync_on(auto_sync=auto_sync is not False)
        assert seat.sync_on is (None if seat.role == Role.ADMIN_ONLY else python_twin), state


def test_the_list_shows_the_badge_on_seats_in_crm_only(login, contract, admin, seat_holder):
    CrmConnectionFactory(contract=contract)
    _map(seat_holder, "mapped")
    _map(admin, "not_matched")
    page = login(admin).get(reverse("seats:list")).content.decode()
    assert page.count('<span class="badge badge-crm">In CRM</span>') == 1
    row = page[page.index("rep@contoso.test") - 600 : page.index("rep@contoso.test")]
    assert "In CRM" in row


def test_disconnecting_takes_every_badge_away(login, contract, admin, seat_holder):
    connection = CrmConnectionFactory(contract=contract)
    _map(seat_holder, "mapped")
    assert seats_with_crm_state(Seat.objects.filter(pk=seat_holder.pk)).get().in_crm
    connection.delete()
    assert not seats_with_crm_state(Seat.objects.filter(pk=seat_holder.pk)).get().in_crm
