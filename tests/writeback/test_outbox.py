"""The outbox state machine: ticks and unticks, claims by workers, and each delivery's outcome."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from inbox.services import message_send, message_set_copy, note_create, note_set_copy
from tests.factories import ContractFactory, CrmSettingsFactory, SeatFactory
from writeback import outbox
from writeback.models import OutboxEntry, OutboxState
from writeback.outbox import (
    FIRST_RETRY_DELAY,
    MAX_ATTEMPTS,
    MAX_RETRY_DELAY,
    RETRY_ONLY_FAILED,
    SentActivity,
    outbox_claim_due,
    outbox_leases_renew,
    outbox_mark_error,
    outbox_mark_removed,
    outbox_mark_sent,
    outbox_mark_sent_many,
    outbox_retry,
    outbox_retry_delay,
)

pytestmark = pytest.mark.django_db

LEASE = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


@pytest.fixture
def queued(writeback_on, seat_holder, member):
    """A message ticked for the CRM, not yet taken by any worker."""
    return message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=True)


def _entry(item) -> OutboxEntry:
    return OutboxEntry.objects.get(pk=item.delivery.pk)


def _claim_one(contract, **kwargs) -> OutboxEntry:
    [entry] = outbox_claim_due(contract=contract, **kwargs)
    return entry


def _sent(message) -> OutboxEntry:
    entry = _claim_one(message.thread.seat.contract)
    assert outbox_mark_sent(
        entry=entry,
        crm_entity_set="li_messages",
        crm_url="https://contoso.crm.dynamics.com/main.aspx?id=1",
        written_open=False,
        regarding_type="contact",
        regarding_id=uuid.uuid4(),
    )
    return _entry(message)


def test_a_claim_takes_due_entries_for_one_worker(queued, contract):
    now = timezone.now()
    entry = _claim_one(contract, now=now)
    assert entry.state == OutboxState.SENDING
    assert entry.attempts == 1
    assert entry.maybe_in_crm is True
    assert entry.claim_token is not None
    assert entry.next_attempt_at == now + LEASE
    # Delivery reads the item and its member: selected with the claim.
    assert entry.message.thread.member.full_name == "Jane Doe"


def test_a_claimed_entry_is_not_claimed_again_until_its_lease_ends(queued, contract):
    now = timezone.now()
    first = _claim_one(contract, now=now)
    assert outbox_claim_due(contract=contract, now=now + LEASE - timedelta(seconds=1)) == []
    # The worker died: after the lease another one takes the entry over, as a new attempt.
    second = _claim_one(contract, now=now + LEASE)
    assert second.pk == first.pk and second.claim_token != first.claim_token
    assert second.attempts == 2
    # The dead worker's late answer no longer counts.
    assert not outbox_mark_sent(
        entry=first, crm_entity_set="li_messages", crm_url="", written_open=True
    )


def test_the_lease_is_a_minute_by_default():
    # With the minute sweep, a dead worker's items are delivered again within two minutes.
    assert settings.OUTBOX_LEASE_SECONDS == 60


def test_a_renewal_extends_the_leases_its_claim_still_holds(queued, contract, member):
    other = message_send(seat=queued.thread.seat, member=member, body="Two", copy_to_crm=True)
    now = timezone.now()
    first, second = outbox_claim_due(contract=contract, now=now)
    assert outbox_mark_sent(
        entry=first, crm_entity_set="li_messages", crm_url="", written_open=True
    )
    later = now + LEASE / 2

    assert outbox_leases_renew(entries=[second], now=later) == 1

    assert _entry(other if second.message_id == other.pk else queued).next_attempt_at == (
        later + LEASE
    )
    assert outbox_claim_due(contract=contract, now=now + LEASE) == []
    assert [e.pk for e in outbox_claim_due(contract=contract, now=later + LEASE)] == [second.pk]


def test_a_dead_workers_token_renews_nothing_once_another_took_over(queued, contract):
    now = timezone.now()
    dead = _claim_one(contract, now=now)
    alive = _claim_one(contract, now=now + LEASE)
    assert outbox_leases_renew(entries=[dead], now=now + LEASE) == 0
    assert _entry(queued).next_attempt_at == alive.next_attempt_at


def test_an_entry_unticked_while_sending_is_renewed_until_the_send_ends(queued, contract):
    now = timezone.now()
    in_flight = _claim_one(contract, now=now)
    message_set_copy(message=queued, copy_to_crm=False)
    # The worker is still sending, long after its first lease: its heartbeat keeps the removal
    # behind the send, until the renewals stop.
    renewed = now + LEASE * 2
    assert outbox_leases_renew(entries=[in_flight], now=renewed) == 1
    assert outbox_claim_due(contract=contract, now=renewed + LEASE - timedelta(seconds=1)) == []
    assert _claim_one(contract, now=renewed + LEASE).state == OutboxState.REMOVING


def test_two_claims_racing_never_share_an_entry(writeback_on, seat_holder, member, monkeypatch):
    """GIVEN five due entries
    WHEN another worker claims them between this worker's read and its UPDATE
    THEN this worker's conditional UPDATE takes none of them."""
    for n in range(5):
        message_send(seat=seat_holder, member=member, body=f"m{n}", copy_to_crm=True)
    contract = seat_holder.contract
    read_due_ids = outbox._due_ids
    taken_by_other = []

    def read_then_lose_the_race(**kwargs):
        ids = read_due_ids(**kwargs)
        monkeypatch.setattr(outbox, "_due_ids", read_due_ids)
        taken_by_other.extend(outbox_claim_due(contract=contract))
        return ids

    monkeypatch.setattr(outbox, "_due_ids", read_then_lose_the_race)
    assert outbox_claim_due(contract=contract) == []
    assert len(taken_by_other) == 5


def test_claims_take_the_oldest_first_up_to_the_limit(writeback_on, seat_holder, member):
    messages = [
        message_send(seat=seat_holder, member=member, body=f"m{n}", copy_to_crm=True)
        for n in range(3)
    ]
    first = outbox_claim_due(contract=seat_holder.contract, limit=2)
    second = outbox_claim_due(contract=seat_holder.contract, limit=2)
    assert [e.message_id for e in first] == [messages[0].pk, messages[1].pk]
    assert [e.message_id for e in second] == [messages[2].pk]


def test_a_claim_takes_only_its_own_contracts_entries(queued, contract):
    other = ContractFactory()
    CrmSettingsFactory(contract=other, writeback=True)
    assert outbox_claim_due(contract=other) == []
    assert len(outbox_claim_due(contract=contract)) == 1


def test_nothing_is_sent_while_the_admin_does_not_copy_the_type(queued, contract, writeback_on):
    writeback_on.writeback_enabled = False
    writeback_on.save()
    assert outbox_claim_due(contract=contract) == []
    writeback_on.writeback_enabled = True
    writeback_on.save()
    assert len(outbox_claim_due(contract=contract)) == 1


def test_a_sent_entry_records_where_it_landed(queued):
    entry = _sent(queued)
    assert entry.state == OutboxState.SENT
    assert entry.sent_at is not None and entry.claim_token is None
    assert (entry.crm_entity_set, entry.regarding_type, entry.written_open) == (
        "li_messages", "contact", False,
    )  # fmt: skip


def test_a_batch_of_sent_entries_is_marked_at_once_except_those_no_longer_held(
    queued, contract, member
):
    other = message_send(seat=queued.thread.seat, member=member, body="Two", copy_to_crm=True)
    first, second = outbox_claim_due(contract=contract)
    message_set_copy(message=other, copy_to_crm=False)  # unticked while being sent
    regarding = uuid.uuid4()
    sent = [
        SentActivity(
            entry=entry,
            crm_entity_set="li_messages",
            crm_url=f"https://contoso.crm.dynamics.com/main.aspx?id={entry.activity_id}",
            written_open=entry is second,
            regarding_type="" if entry is second else "contact",
            regarding_id=None if entry is second else regarding,
        )
        for entry in (first, second)
    ]

    assert outbox_mark_sent_many(sent=sent) == 1

    entry = _entry(queued)
    assert (entry.state, entry.written_open, entry.regarding_id) == (
        OutboxState.SENT, False, regarding,
    )  # fmt: skip
    assert entry.crm_url.endswith(str(entry.activity_id)) and entry.claim_token is None
    assert _entry(other).state == OutboxState.REMOVAL_REQUESTED


def test_unticking_before_delivery_withdraws(queued, contract):
    message_set_copy(message=queued, copy_to_crm=False)
    entry = _entry(queued)
    assert entry.state == OutboxState.WITHDRAWN
    assert outbox_claim_due(contract=contract) == []


def test_unticking_after_delivery_requests_removal_then_a_worker_removes(queued, contract):
    _sent(queued)
    message_set_copy(message=queued, copy_to_crm=False)
    assert _entry(queued).state == OutboxState.REMOVAL_REQUESTED

    entry = _claim_one(contract)
    assert (entry.state, entry.attempts) == (OutboxState.REMOVING, 1)
    assert outbox_mark_removed(entry=entry)
    entry = _entry(queued)
    assert entry.state == OutboxState.REMOVED
    assert (entry.maybe_in_crm, entry.crm_url) == (False, "")

    # Ticked again: the same activity id is created anew.
    message_set_copy(message=queued, copy_to_crm=True)
    entry = _entry(queued)
    assert (entry.state, entry.attempts) == (OutboxState.QUEUED, 0)


def test_unticking_after_an_attempt_that_may_have_landed_requests_removal(queued, contract):
    entry = _claim_one(contract)
    outbox_mark_error(entry=entry, kind="connect", detail="Timed out", retryable=True)
    assert _entry(queued).state == OutboxState.RETRYING
    message_set_copy(message=queued, copy_to_crm=False)
    assert _entry(queued).state == OutboxState.REMOVAL_REQUESTED


def test_unticking_while_sending_waits_for_the_send_in_flight(queued, contract):
    now = timezone.now()
    in_flight = _claim_one(contract, now=now)
    message_set_copy(message=queued, copy_to_crm=False)
    entry = _entry(queued)
    assert entry.state == OutboxState.REMOVAL_REQUESTED
    # The removal is due when the send's lease ends, so it cannot overtake the send.
    assert entry.next_attempt_at == in_flight.next_attempt_at
    assert outbox_claim_due(contract=contract, now=now + LEASE - timedelta(seconds=1)) == []
    # The send's outcome no longer applies; the removal takes over.
    assert not outbox_mark_sent(
        entry=in_flight, crm_entity_set="li_messages", crm_url="", written_open=True
    )
    assert _claim_one(contract, now=now + LEASE).state == OutboxState.REMOVING


def test_ticking_again_while_removing_waits_for_the_removal_in_flight(queued, contract):
    _sent(queued)
    message_set_copy(message=queued, copy_to_crm=False)
    now = timezone.now()
    removing = _claim_one(contract, now=now)
    message_set_copy(message=queued, copy_to_crm=True)
    entry = _entry(queued)
    assert entry.state == OutboxState.QUEUED
    assert entry.next_attempt_at == removing.next_attempt_at
    assert not outbox_mark_removed(entry=removing)


def test_ticking_or_unticking_twice_changes_nothing(queued):
    message_set_copy(message=queued, copy_to_crm=True)
    assert _entry(queued).state == OutboxState.QUEUED
    message_set_copy(message=queued, copy_to_crm=False)
    message_set_copy(message=queued, copy_to_crm=False)
    assert _entry(queued).state == OutboxState.WITHDRAWN
    assert OutboxEntry.objects.count() == 1


def test_a_retryable_error_waits_then_tries_again(queued, contract, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    entry = _claim_one(contract)
    assert outbox_mark_error(entry=entry, kind="api", detail="HTTP 503", retryable=True)
    entry = _entry(queued)
    assert entry.state == OutboxState.RETRYING
    assert entry.next_attempt_at == timezone.now() + FIRST_RETRY_DELAY
    assert (entry.last_error_kind, entry.last_error_detail) == ("api", "HTTP 503")
    assert entry.failure_reason == "The CRM API reported an error."
    assert outbox_claim_due(contract=contract) == []
    time_machine.shift(FIRST_RETRY_DELAY)
    assert _claim_one(contract).attempts == 2


def test_retry_after_is_honoured(queued, contract, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    entry = _claim_one(contract)
    outbox_mark_error(entry=entry, kind="api", detail="429", retryable=True, retry_after=120)
    assert _entry(queued).next_attempt_at == timezone.now() + timedelta(seconds=120)


def test_retries_are_bounded_then_the_item_fails(queued, contract, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    for _ in range(MAX_ATTEMPTS):
        entry = _claim_one(contract)
        outbox_mark_error(entry=entry, kind="connect", detail="Timed out", retryable=True)
        time_machine.shift(MAX_RETRY_DELAY)
    entry = _entry(queued)
    assert entry.state == OutboxState.FAILED
    assert entry.last_error_detail == f"Gave up after {MAX_ATTEMPTS} attempts. Timed out"
    assert "Retry" in entry.next_step
    assert outbox_claim_due(contract=contract) == []


def test_an_error_that_cannot_get_better_fails_at_once(queued, contract):
    entry = _claim_one(contract)
    outbox_mark_error(entry=entry, kind="privilege", detail="HTTP 403", retryable=False)
    entry = _entry(queued)
    assert (entry.state, entry.attempts) == (OutboxState.FAILED, 1)
    assert entry.next_step.startswith("Ask your CRM administrator")


def test_a_failed_removal_is_tried_again_later(queued, contract):
    _sent(queued)
    message_set_copy(message=queued, copy_to_crm=False)
    entry = _claim_one(contract)
    outbox_mark_error(entry=entry, kind="api", detail="HTTP 500", retryable=True)
    entry = _entry(queued)
    assert (entry.state, entry.last_error_kind) == (OutboxState.REMOVAL_REQUESTED, "api")
    assert entry.next_attempt_at > timezone.now()


def test_an_unknown_error_kind_is_a_programming_error(queued, contract):
    entry = _claim_one(contract)
    with pytest.raises(ValueError):
        outbox_mark_error(entry=entry, kind="oops", detail="", retryable=True)


def test_retry_queues_a_failed_item_again(queued, contract, django_capture_on_commit_callbacks):
    entry = _claim_one(contract)
    outbox_mark_error(entry=entry, kind="privilege", detail="HTTP 403", retryable=False)
    with django_capture_on_commit_callbacks() as callbacks:
        entry = outbox_retry(entry=entry)
    assert (entry.state, entry.attempts, entry.last_error_kind) == (OutboxState.QUEUED, 0, "")
    assert len(callbacks) == 1
    assert len(outbox_claim_due(contract=contract)) == 1


def test_retry_of_an_unticked_failed_item_removes_it(writeback_on, seat_holder, member, contract):
    note = note_create(seat=seat_holder, member=member, body="Met", copy_to_crm=True)
    entry = _claim_one(contract)
    outbox_mark_error(entry=entry, kind="api", detail="HTTP 400", retryable=False)
    note_set_copy(note=note, copy_to_crm=False)
    # Unticking a failed item that may be in the CRM already asks for its removal.
    assert _entry(note).state == OutboxState.REMOVAL_REQUESTED
    entry = _claim_one(contract)
    outbox_mark_error(entry=entry, kind="api", detail="HTTP 400", retryable=False)
    assert outbox_retry(entry=_entry(note)).state == OutboxState.REMOVAL_REQUESTED


def test_only_failed_items_can_be_retried(queued):
    with pytest.raises(ValidationError, match=RETRY_ONLY_FAILED.format(state="queued")):
        outbox_retry(entry=_entry(queued))


def test_retry_delay_doubles_from_thirty_seconds_up_to_an_hour():
    assert outbox_retry_delay(attempts=1) == timedelta(seconds=30)
    assert outbox_retry_delay(attempts=2) == timedelta(seconds=60)
    assert outbox_retry_delay(attempts=4) == timedelta(minutes=4)
    assert outbox_retry_delay(attempts=30) == MAX_RETRY_DELAY


def test_retry_delay_is_at_least_retry_after_within_the_cap():
    assert outbox_retry_delay(attempts=1, retry_after=90) == timedelta(seconds=90)
    assert outbox_retry_delay(attempts=3, retry_after=5) == timedelta(minutes=2)
    assert outbox_retry_delay(attempts=1, retry_after=10**6) == MAX_RETRY_DELAY


def test_entries_of_other_seats_in_the_contract_are_claimed_together(queued, contract, member):
    colleague = SeatFactory(contract=contract)
    message_send(seat=colleague, member=member, body="Hi", copy_to_crm=True)
    assert len(outbox_claim_due(contract=contract)) == 2
