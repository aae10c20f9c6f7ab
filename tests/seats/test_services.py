import pytest
from django.core.exceptions import ValidationError

from seats.models import AuditEntry, Role, Seat
from seats.services import seat_change_role, seats_create, seats_in_use
from tests.factories import ContractFactory, SeatFactory

pytestmark = pytest.mark.django_db


def _people(n, start=0):
    return [
        {"email": f"p{i}@x.test", "first_name": "P", "last_name": str(i)}
        for i in range(start, start + n)
    ]


def test_seats_fill_the_contract_exactly():
    contract = ContractFactory(purchased_seats=3)
    seats_create(contract=contract, people=_people(3))
    assert seats_in_use(contract=contract) == 3


def test_one_seat_over_the_limit_creates_nothing():
    contract = ContractFactory(purchased_seats=3)
    seats_create(contract=contract, people=_people(1))
    with pytest.raises(ValidationError, match="2 can be assigned; you selected 3"):
        seats_create(contract=contract, people=_people(3, start=10))
    assert Seat.objects.filter(contract=contract).count() == 1


def test_admin_only_seats_do_not_use_purchased_seats():
    contract = ContractFactory(purchased_seats=1)
    seats_create(contract=contract, people=_people(1))
    seats_create(contract=contract, people=_people(2, start=5), role=Role.ADMIN_ONLY)
    assert seats_in_use(contract=contract) == 1


def test_a_person_holds_one_seat_only(contract, seat_holder):
    result = seats_create(contract=contract, people=[{"email": "REP@contoso.test"}])
    assert result.seats == []
    assert result.refused == {"rep@contoso.test": "already holds a seat"}
    assert Seat.objects.filter(user__email="rep@contoso.test").count() == 1


def test_the_last_admin_cannot_be_demoted(contract, admin, seat_holder):
    with pytest.raises(ValidationError, match="last admin"):
        seat_change_role(seat=admin, role=Role.SEAT_HOLDER)
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_demoting_an_admin_when_another_exists_is_audited(contract, admin, admin_only):
    seat_change_role(seat=admin, role=Role.SEAT_HOLDER, by=admin_only.user)
    entry = AuditEntry.objects.get(action="seat.role")
    assert (entry.before, entry.after) == ({"role": "admin"}, {"role": "seat_holder"})
    assert entry.actor_label == "adminonly@contoso.test"


def test_promoting_to_a_seat_role_respects_the_limit():
    contract = ContractFactory(purchased_seats=1)
    SeatFactory(contract=contract)
    ops = SeatFactory(contract=contract, admin_only=True)
    with pytest.raises(ValidationError, match="0 can be assigned"):
        seat_change_role(seat=ops, role=Role.ADMIN)


def test_crm_sync_follows_auto_sync_unless_set_per_seat(seat_holder, admin_only):
    assert seat_holder.crm_sync_on(auto_sync=True) is True
    assert seat_holder.crm_sync_on(auto_sync=False) is False
    seat_holder.crm_sync = "off"
    assert seat_holder.crm_sync_on(auto_sync=True) is False
    seat_holder.crm_sync = "on"
    assert seat_holder.crm_sync_on(auto_sync=False) is True
    assert admin_only.crm_sync_on(auto_sync=True) is False
