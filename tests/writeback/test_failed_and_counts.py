"""The contract's failed copies for its admins, and what the writeback tells the CRM Sync
overview: copies per day by where they stand, and the counts waiting for someone."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from tests.factories import ContractFactory, NoteFactory, OutboxEntryFactory, SeatFactory
from writeback.models import OutboxEntry, OutboxState
from writeback.selectors import copies_per_day, outbox_counts

pytestmark = pytest.mark.django_db

FAILED = reverse("writeback:failed")


def _failed(seat, **fields) -> OutboxEntry:
    return OutboxEntryFactory(message__thread__seat=seat, failed=True, **fields)


def test_admins_see_every_failed_copy_of_the_contract_with_its_reason_and_next_step(
    login, admin, admin_only, seat_holder, outsider
):
    mine = _failed(seat_holder, last_error_at=datetime(2026, 5, 4, tzinfo=UTC))
    OutboxEntryFactory(message__thread__seat=seat_holder, sent=True)
    _failed(SeatFactory(contract=outsider.contract), last_error_detail="Fabrikam's own detail")

    for seat in (admin, admin_only):
        page = login(seat).get(FAILED).content.decode()
        assert page.count("<tr>") == 2  # the header and one copy
        assert "rep@contoso.test" in page
        assert str(mine.about) in page
        assert "Your CRM account does not have sufficient access privileges." in page
        assert "Ask your CRM administrator for the access privileges" in page
        assert "[HTTP 403]" in page
        assert "Fabrikam" not in page


def test_seat_holders_may_not_open_it_and_an_empty_list_says_so(login, seat_holder, admin):
    assert login(seat_holder).get(FAILED).status_code == 403
    assert "No failed copies" in login(admin).get(FAILED).content.decode()


@pytest.mark.parametrize("size", [2, 30])
def test_the_failed_list_is_a_fixed_number_of_queries(
    login, admin, seat_holder, size, django_assert_max_num_queries
):
    for n in range(size):
        if n % 2:
            _failed(seat_holder)
        else:
            OutboxEntryFactory(on_note=True, note=NoteFactory(seat=seat_holder,
                               copy_to_crm=True), failed=True)  # fmt: skip
    client = login(admin)
    client.get(FAILED)
    with django_assert_max_num_queries(8):
        page = client.get(FAILED).content.decode()
    assert page.count("<tr>") == size + 1


def test_copies_count_on_the_day_they_were_sent_or_last_failed(seat_holder):
    contract = seat_holder.contract
    may4 = datetime(2026, 5, 4, 10, tzinfo=UTC)
    OutboxEntryFactory(message__thread__seat=seat_holder, sent=True, sent_at=may4)
    OutboxEntryFactory(
        message__thread__seat=seat_holder, sent=True, written_open=True, sent_at=may4
    )
    _failed(seat_holder, last_error_at=may4 + timedelta(days=1))
    OutboxEntryFactory(message__thread__seat=seat_holder)  # queued: not yet either
    OutboxEntryFactory(message__thread__seat=seat_holder, state=OutboxState.WITHDRAWN)
    OutboxEntryFactory(
        message__thread__seat=seat_holder, sent=True, sent_at=may4 - timedelta(days=9)
    )  # before the window
    other = SeatFactory(contract=ContractFactory())
    OutboxEntryFactory(message__thread__seat=other, sent=True, sent_at=may4)

    days = copies_per_day(contract=contract, since=may4 - timedelta(days=3), tz=UTC)

    assert [(d.day, d.sent, d.open, d.failed) for d in days] == [
        (date(2026, 5, 4), 1, 1, 0),
        (date(2026, 5, 5), 0, 0, 1),
    ]


@pytest.mark.parametrize("size", [1, 20])
def test_copies_per_day_and_the_counts_are_one_query_each(
    seat_holder, size, django_assert_num_queries
):
    start = datetime(2026, 5, 1, tzinfo=UTC)
    for n in range(size):
        OutboxEntryFactory(
            message__thread__seat=seat_holder, sent=True, written_open=n % 2 == 0,
            sent_at=start + timedelta(hours=9 * n),
        )  # fmt: skip
        _failed(seat_holder, last_error_at=start + timedelta(hours=7 * n))
    with django_assert_num_queries(1):
        days = copies_per_day(contract=seat_holder.contract, since=start, tz=UTC)
    assert sum(d.sent + d.open + d.failed for d in days) == 2 * size
    with django_assert_num_queries(1):
        counts = outbox_counts(contract=seat_holder.contract)
    assert (counts.unresolved, counts.failed) == ((size + 1) // 2, size)
