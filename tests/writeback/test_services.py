"""Writing InMails, messages and notes, and ticking their copy to the CRM."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django_q.models import Task

from crm_settings.models import WritebackType
from inbox.models import CopyPreference, Message, Thread
from inbox.selectors import copy_choices_get
from inbox.services import (
    COPY_NOT_AVAILABLE,
    NOTE_NEEDS_ONE_TARGET,
    conversation_receive,
    inmail_send,
    message_receive,
    message_reply,
    message_send,
    message_set_copy,
    note_create,
    note_set_copy,
    thread_mark_read,
    thread_set_copy,
)
from tests.factories import (
    CompanyFactory,
    CrmSettingsFactory,
    MemberFactory,
    MessageFactory,
    ThreadFactory,
)
from writeback.models import OutboxEntry, OutboxState, activity_id_derive

pytestmark = pytest.mark.django_db


def _state(item) -> str | None:
    entry = OutboxEntry.objects.filter(**{item._meta.model_name: item}).first()
    return entry and entry.state


def test_a_message_starts_a_conversation_and_the_next_one_joins_it(seat_holder, member):
    first = message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=False)
    second = message_send(seat=seat_holder, member=member, body="Again", copy_to_crm=False)
    assert first.thread == second.thread
    assert first.thread.kind == Thread.Kind.MESSAGE
    assert list(first.thread.messages.values_list("body", flat=True)) == ["Hello", "Again"]


def test_every_inmail_is_a_thread_of_its_own(seat_holder, member):
    one = inmail_send(seat=seat_holder, member=member, subject="A", body="x", copy_to_crm=False)
    two = inmail_send(seat=seat_holder, member=member, subject="B", body="y", copy_to_crm=False)
    assert one.thread != two.thread
    assert one.thread.subject == "A"


def test_an_inmail_needs_a_subject(seat_holder, member):
    with pytest.raises(ValidationError, match="needs a subject"):
        inmail_send(seat=seat_holder, member=member, subject="  ", body="x", copy_to_crm=False)
    assert not Thread.objects.exists()


def test_admin_only_seats_cannot_write(admin_only, member):
    with pytest.raises(ValidationError, match="Admin only seats"):
        message_send(seat=admin_only, member=member, body="Hello", copy_to_crm=False)


def test_a_copied_message_gets_its_outbox_entry_with_a_derived_activity_id(
    writeback_on, seat_holder, member
):
    message = message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=True)
    entry = message.delivery
    assert (entry.state, entry.item_type, entry.seat, entry.contract) == (
        OutboxState.QUEUED, "message", seat_holder, seat_holder.contract,
    )  # fmt: skip
    assert entry.activity_id == activity_id_derive(
        contract_id=seat_holder.contract_id, item_type="message", item_id=message.pk
    )


def test_the_activity_id_is_the_same_every_time_and_differs_per_item():
    one = activity_id_derive(contract_id=1, item_type="message", item_id=7)
    assert one == activity_id_derive(contract_id=1, item_type="message", item_id=7)
    assert one != activity_id_derive(contract_id=1, item_type="message", item_id=8)
    assert one != activity_id_derive(contract_id=2, item_type="message", item_id=7)
    assert one != activity_id_derive(contract_id=1, item_type="note", item_id=7)


def test_the_item_and_its_outbox_entry_commit_or_roll_back_together(
    writeback_on, seat_holder, member
):
    with pytest.raises(RuntimeError), transaction.atomic():
        message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=True)
        raise RuntimeError("the request failed after the service")
    assert not Message.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_the_drain_task_is_enqueued_when_the_transaction_commits(
    writeback_on, seat_holder, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=True)
    assert len(callbacks) == 1
    task = Task.objects.get(func="writeback.tasks.drain_outbox")
    assert task.args == (seat_holder.contract_id,)
    # Not connected: the drain takes nothing and the item stays queued.
    assert task.result == 0
    assert OutboxEntry.objects.get().state == OutboxState.QUEUED


def test_nothing_is_enqueued_for_an_item_that_is_not_copied(
    writeback_on, seat_holder, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=False)
    assert callbacks == []


def test_with_writeback_off_items_are_never_queued_and_show_no_checkbox(seat_holder, member):
    message = message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=True)
    note = note_create(seat=seat_holder, member=member, body="Met", copy_to_crm=True)
    assert (message.copy_to_crm, note.copy_to_crm) == (False, False)
    assert not OutboxEntry.objects.exists()
    choices = copy_choices_get(seat=seat_holder)
    assert not any(choices.shows(t) for t in WritebackType.values)
    # No checkbox was shown, so there was no choice to remember.
    assert not CopyPreference.objects.exists()


def test_types_the_admin_did_not_select_are_never_queued(contract, seat_holder, member):
    CrmSettingsFactory(
        contract=contract,
        writeback_enabled=True,
        writeback_all=False,
        writeback_inmails=False,
        writeback_messages=False,
        writeback_notes=True,
    )
    message = message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=True)
    inmail = inmail_send(seat=seat_holder, member=member, subject="S", body="x", copy_to_crm=True)
    note = note_create(seat=seat_holder, member=member, body="Met", copy_to_crm=True)
    assert (_state(message), _state(inmail), _state(note)) == (None, None, OutboxState.QUEUED)
    with pytest.raises(ValidationError, match=COPY_NOT_AVAILABLE.format(types="Messages")):
        message_set_copy(message=message, copy_to_crm=True)
    with pytest.raises(ValidationError):
        thread_set_copy(thread=inmail.thread, copy_to_crm=True)
    assert OutboxEntry.objects.count() == 1


def test_checkbox_defaults_follow_the_contract_then_the_last_choice(
    writeback_on, seat_holder, member
):
    choices = copy_choices_get(seat=seat_holder)
    assert all(choices.default(t) for t in WritebackType.values)

    note_create(seat=seat_holder, member=member, body="Met", copy_to_crm=False)
    choices = copy_choices_get(seat=seat_holder)
    assert choices.default("note") is False
    assert choices.default("message") is True

    note_create(seat=seat_holder, member=member, body="Again", copy_to_crm=True)
    assert copy_choices_get(seat=seat_holder).default("note") is True


def test_the_last_choice_is_the_seats_own(writeback_on, seat_holder, admin, member):
    note_create(seat=seat_holder, member=member, body="Met", copy_to_crm=False)
    assert copy_choices_get(seat=admin).default("note") is True


def test_a_new_thread_follows_its_first_message_and_received_messages_follow_the_thread(
    writeback_on, seat_holder, member
):
    copied = message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=True)
    assert copied.thread.copy_to_crm is True
    reply = message_receive(thread=copied.thread, body="Hi back")
    assert reply.copy_to_crm is True and _state(reply) == OutboxState.QUEUED

    other = inmail_send(seat=seat_holder, member=member, subject="S", body="x", copy_to_crm=False)
    assert other.thread.copy_to_crm is False
    answer = message_receive(thread=other.thread, body="No thanks")
    assert answer.copy_to_crm is False and _state(answer) is None


def test_a_message_in_an_existing_conversation_leaves_the_threads_checkbox(
    writeback_on, seat_holder, member
):
    first = message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=False)
    second = message_send(seat=seat_holder, member=member, body="Again", copy_to_crm=True)
    second.thread.refresh_from_db()
    assert second.thread.copy_to_crm is False
    assert (_state(first), _state(second)) == (None, OutboxState.QUEUED)


def test_copy_thread_to_crm_copies_every_message_and_the_new_ones(writeback_on, seat_holder):
    thread = ThreadFactory(seat=seat_holder)
    old = [MessageFactory(thread=thread), MessageFactory(thread=thread, received=True)]
    thread_set_copy(thread=thread, copy_to_crm=True)
    assert [_state(m) for m in old] == [OutboxState.QUEUED, OutboxState.QUEUED]
    new = message_receive(thread=thread, body="New one")
    assert _state(new) == OutboxState.QUEUED

    thread_set_copy(thread=thread, copy_to_crm=False)
    assert {_state(m) for m in [*old, new]} == {OutboxState.WITHDRAWN}
    assert not Message.objects.filter(thread=thread, copy_to_crm=True).exists()


def test_a_reply_is_copied_as_its_checkbox_says(writeback_on, seat_holder):
    thread = ThreadFactory(seat=seat_holder, copy_to_crm=True)
    kept = message_reply(thread=thread, body="Not this one", copy_to_crm=False)
    assert _state(kept) is None
    assert copy_choices_get(seat=seat_holder).default("message") is False


def test_a_note_is_on_a_lead_or_an_account_not_both(writeback_on, seat_holder, member):
    with pytest.raises(ValidationError, match=NOTE_NEEDS_ONE_TARGET):
        note_create(seat=seat_holder, body="x", copy_to_crm=False)
    with pytest.raises(ValidationError, match=NOTE_NEEDS_ONE_TARGET):
        note_create(
            seat=seat_holder, body="x", copy_to_crm=False, member=member, company=member.company
        )
    note = note_create(seat=seat_holder, company=CompanyFactory(), body="x", copy_to_crm=True)
    assert note.delivery.item_type == "note"


def test_unticking_a_note_before_delivery_withdraws_it(writeback_on, seat_holder, member):
    note = note_create(seat=seat_holder, member=member, body="Met", copy_to_crm=True)
    note_set_copy(note=note, copy_to_crm=False)
    assert _state(note) == OutboxState.WITHDRAWN
    note_set_copy(note=note, copy_to_crm=True)
    assert _state(note) == OutboxState.QUEUED


def test_unticking_is_allowed_after_the_admin_stopped_copying_the_type(
    writeback_on, seat_holder, member
):
    message = message_send(seat=seat_holder, member=member, body="Hello", copy_to_crm=True)
    writeback_on.writeback_enabled = False
    writeback_on.save()
    message_set_copy(message=message, copy_to_crm=False)
    assert _state(message) == OutboxState.WITHDRAWN


def test_opening_a_thread_marks_it_read(seat_holder):
    thread = ThreadFactory(seat=seat_holder)
    assert thread_mark_read(thread=thread).read_at is not None


def test_a_conversation_the_member_starts_follows_the_checkbox_default(
    writeback_on, seat_holder, admin, member
):
    first = conversation_receive(seat=seat_holder, member=member, body="Hi there")
    assert first.thread.copy_to_crm is True and _state(first) == OutboxState.QUEUED
    again = conversation_receive(seat=seat_holder, member=member, body="Anyone?")
    assert again.thread == first.thread

    message_send(seat=admin, member=MemberFactory(), body="x", copy_to_crm=False)
    declined = conversation_receive(seat=admin, member=member, body="Hello")
    assert declined.thread.copy_to_crm is False and _state(declined) is None
