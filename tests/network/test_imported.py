"""Removing a seat's imported saves: only what the import brought in, never the holder's own."""

import pytest
from django.utils import timezone

from network.imported import (
    seat_imported_saves_count,
    seat_imported_saves_remove,
    seats_imported_saves_count,
    seats_imported_saves_remove,
)
from network.models import SavedAccount, SavedLead
from seats.models import Seat
from tests.factories import SavedAccountFactory, SavedLeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def saves(seat_holder, admin):
    """The seat holder's saves of every kind, and the admin's imported ones."""
    now = timezone.now()
    return {
        "imported_accounts": SavedAccountFactory.create_batch(
            2, seat=seat_holder, imported=True, imported_at=now
        ),
        "imported_lead": SavedLeadFactory(seat=seat_holder, imported=True, imported_at=now),
        "own_account": SavedAccountFactory(seat=seat_holder),
        "both_lead": SavedLeadFactory(
            seat=seat_holder,
            from_crm=True,
            crm_record_id="0b1c8e54-3e69-4a4e-9d9b-7b7d2c2f5e11",
            imported_at=now,
        ),  # fmt: skip
        "others": SavedAccountFactory(seat=admin, imported=True),
    }


def test_it_counts_what_would_go_and_what_stays(seat_holder, saves):
    assert seat_imported_saves_count(seat=seat_holder) == {"accounts": 2, "leads": 1, "kept": 1}


def test_it_removes_imported_only_saves_and_unmarks_the_ones_also_saved_by_hand(seat_holder, saves):
    assert seat_imported_saves_remove(seat=seat_holder) == {"accounts": 2, "leads": 1, "kept": 1}
    assert list(SavedAccount.objects.filter(seat=seat_holder)) == [saves["own_account"]]
    both = SavedLead.objects.get(seat=seat_holder)
    assert both.pk == saves["both_lead"].pk
    assert (both.saved_by_hand, both.from_crm, both.crm_record_id, both.imported_at) == (
        True, False, None, None,
    )  # fmt: skip


def test_it_leaves_other_seats_alone(seat_holder, saves):
    seat_imported_saves_remove(seat=seat_holder)
    assert SavedAccount.objects.filter(pk=saves["others"].pk, from_crm=True).exists()


def test_many_seats_at_once_cost_a_fixed_number_of_queries(
    contract, seat_holder, admin, saves, django_assert_num_queries
):
    seats = Seat.objects.filter(contract=contract)
    with django_assert_num_queries(2):
        assert seats_imported_saves_count(seats=seats) == {"accounts": 3, "leads": 1, "kept": 1}
    with django_assert_num_queries(6):
        seats_imported_saves_remove(seats=seats)
    assert not SavedAccount.objects.filter(from_crm=True).exists()
