"""The demo's conversations and notes: deterministic, idempotent, and following the settings."""

import pytest

from inbox.demo import inbox_demo_seed
from inbox.models import Message, Note, Thread
from tests.factories import MemberFactory
from writeback.models import OutboxEntry

pytestmark = pytest.mark.django_db


def _snapshot(seat):
    return (
        list(Thread.objects.filter(seat=seat).values_list("member_id", "kind", "subject")),
        list(Message.objects.filter(thread__seat=seat).values_list("thread_id", "body")),
        list(Note.objects.filter(seat=seat).values_list("member_id", "company_id", "body")),
        OutboxEntry.objects.count(),
    )


def test_it_gives_a_seat_inmails_messages_and_notes(seat_holder, writeback_on):
    members = MemberFactory.create_batch(4)
    created = inbox_demo_seed(seat=seat_holder, members=members)
    assert len(created) == 6
    threads = Thread.objects.filter(seat=seat_holder)
    assert sorted(threads.values_list("kind", flat=True)) == [
        "inmail", "inmail", "message", "message",
    ]  # fmt: skip
    assert Message.objects.filter(thread__seat=seat_holder).count() == 8
    assert Note.objects.filter(seat=seat_holder, member=members[0]).exists()
    assert Note.objects.filter(seat=seat_holder, company=members[0].company).exists()
    # Every message is copied (the member's own conversation follows the default, ticked); of
    # the notes, the one on the lead.
    assert OutboxEntry.objects.filter(item_type="note").count() == 1
    assert OutboxEntry.objects.exclude(item_type="note").count() == 8


def test_its_threads_read_like_a_past_week(seat_holder):
    member = MemberFactory(first_name="Jane", company__name="Northwind")
    inbox_demo_seed(seat=seat_holder, members=[member])
    thread = Thread.objects.get()
    assert thread.subject == "Quick question about Northwind"
    messages = list(thread.messages.all())
    assert messages[0].body.startswith("Hi Jane, I saw Northwind")
    assert [m.direction for m in messages] == ["sent", "received", "sent"]
    assert thread.last_message_at == messages[-1].sent_at
    assert messages[0].sent_at < messages[-1].sent_at


def test_running_it_again_creates_nothing(seat_holder, writeback_on):
    members = MemberFactory.create_batch(5)
    inbox_demo_seed(seat=seat_holder, members=members)
    first = _snapshot(seat_holder)
    assert inbox_demo_seed(seat=seat_holder, members=members) == []
    assert _snapshot(seat_holder) == first


def test_without_writeback_nothing_is_queued(seat_holder):
    inbox_demo_seed(seat=seat_holder, members=MemberFactory.create_batch(4))
    assert not OutboxEntry.objects.exists()
    assert not Message.objects.filter(copy_to_crm=True).exists()


def test_it_makes_do_with_few_or_no_members(seat_holder):
    assert inbox_demo_seed(seat=seat_holder, members=[]) == []
    inbox_demo_seed(seat=seat_holder, members=[MemberFactory(company=None, company_name="")])
    assert Thread.objects.count() == 1 and Note.objects.count() == 1
