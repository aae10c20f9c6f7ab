"""The seat holder's pages: Inbox, a thread, new InMails and messages, copy checkboxes, Retry."""

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.models import Message, Thread
from inbox.services import message_send
from tests.factories import (
    MemberFactory,
    MessageFactory,
    OutboxEntryFactory,
    SavedLeadFactory,
    ThreadFactory,
)
from writeback.models import OutboxEntry, OutboxState

pytestmark = pytest.mark.django_db

INBOX_QUERIES = 5  # session, user, seat; count and page of threads
THREAD_QUERIES = 11


def _htmx(client, method, url, data=None):
    return getattr(client, method)(url, data or {}, headers={"HX-Request": "true"})


def test_the_inbox_lists_the_seats_threads_with_their_last_message(login, seat_holder, admin):
    thread = ThreadFactory(seat=seat_holder, member__first_name="Jane", member__last_name="Doe")
    MessageFactory(thread=thread, body="Hello Jane")
    MessageFactory(thread=thread, received=True, body="Hi, thanks for writing")
    ThreadFactory(seat=admin, member__first_name="Someone", member__last_name="Else")
    page = login(seat_holder).get(reverse("inbox:inbox")).content.decode()
    assert "Jane Doe" in page and "Hi, thanks for writing" in page
    assert "Unread" in page
    assert "Someone Else" not in page


def test_a_thread_is_no_longer_unread_once_opened(login, seat_holder):
    thread = ThreadFactory(seat=seat_holder)
    MessageFactory(thread=thread, received=True)
    client = login(seat_holder)
    client.get(reverse("inbox:thread", args=[thread.pk]))
    assert "Unread" not in client.get(reverse("inbox:inbox")).content.decode()


@pytest.mark.parametrize("threads", [5, 200])
def test_the_inbox_costs_the_same_queries_for_few_or_many_threads(
    login, seat_holder, threads, django_assert_num_queries
):
    for thread in ThreadFactory.create_batch(threads, seat=seat_holder):
        MessageFactory(thread=thread, received=True)
    client = login(seat_holder)
    with django_assert_num_queries(INBOX_QUERIES):
        response = client.get(reverse("inbox:inbox"), {"page": 2})
    assert response.status_code == 200


@pytest.mark.parametrize("messages", [3, 60])
def test_a_thread_costs_the_same_queries_for_few_or_many_messages(
    login, seat_holder, writeback_on, messages, django_assert_max_num_queries
):
    thread = ThreadFactory(seat=seat_holder)
    for message in MessageFactory.create_batch(messages, thread=thread, copy_to_crm=True):
        OutboxEntryFactory(message=message)
    client = login(seat_holder)
    with django_assert_max_num_queries(THREAD_QUERIES):
        response = client.get(reverse("inbox:thread", args=[thread.pk]))
    page = response.content.decode()
    assert page.count('class="copy-control"') == page.count("Queued") == messages


def test_a_thread_shows_its_checkboxes_only_when_the_admin_copies_its_type(
    login, seat_holder, contract
):
    thread = ThreadFactory(seat=seat_holder)
    MessageFactory(thread=thread)
    page = login(seat_holder).get(reverse("inbox:thread", args=[thread.pk])).content.decode()
    assert "Copy message to CRM" not in page and "Copy thread to CRM" not in page


def test_a_thread_shows_each_copy_and_its_delivery(login, seat_holder, writeback_on):
    thread = ThreadFactory(seat=seat_holder, copy_to_crm=True)
    OutboxEntryFactory(message__thread=thread, sent=True)
    OutboxEntryFactory(message__thread=thread, failed=True)
    OutboxEntryFactory(
        message__thread=thread,
        state=OutboxState.RETRYING,
        attempts=2,
        last_error_kind="api",
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=2),
    )
    OutboxEntryFactory(message__thread=thread, state=OutboxState.WITHDRAWN)
    OutboxEntryFactory(message__thread=thread)
    page = login(seat_holder).get(reverse("inbox:thread", args=[thread.pk])).content.decode()
    assert "Copy thread to CRM" in page
    assert "Sent to CRM" in page and "View the activity in your CRM" in page
    assert "Failed" in page
    assert "Your CRM account does not have sufficient access privileges." in page
    assert "Ask your CRM administrator" in page and ">Retry</button>" in page
    assert "Retrying" in page and "Attempt 2 failed: The CRM API reported an error." in page
    assert "Withdrawn" in page
    assert "Queued" in page and "Waits until your admin connects the CRM." in page


def test_a_reply_is_sent_and_copied_as_ticked(login, seat_holder, writeback_on):
    thread = ThreadFactory(seat=seat_holder, copy_to_crm=True)
    client = login(seat_holder)
    page = client.get(reverse("inbox:thread", args=[thread.pk])).content.decode()
    assert 'name="copy_to_crm" id="id_copy_to_crm" checked' in page
    response = client.post(
        reverse("inbox:thread", args=[thread.pk]), {"body": "Thanks!", "copy_to_crm": "on"}
    )
    assert response.status_code == 302
    reply = Message.objects.get(thread=thread)
    assert reply.body == "Thanks!" and reply.delivery.state == OutboxState.QUEUED


def test_a_reply_that_is_too_long_keeps_its_text_and_says_why(login, seat_holder):
    thread = ThreadFactory(seat=seat_holder)
    body = "x" * 8001
    response = login(seat_holder).post(reverse("inbox:thread", args=[thread.pk]), {"body": body})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ensure this value has at most 8000 characters (it has 8001)." in page
    assert body in page
    assert not Message.objects.exists()


def test_an_empty_reply_is_refused_with_a_clear_message(login, seat_holder):
    thread = ThreadFactory(seat=seat_holder)
    response = login(seat_holder).post(reverse("inbox:thread", args=[thread.pk]), {"body": ""})
    assert response.status_code == 400
    assert "Write your reply." in response.content.decode()


def test_ticking_a_message_with_htmx_answers_with_its_control(login, seat_holder, writeback_on):
    message = MessageFactory(thread__seat=seat_holder)
    url = reverse("inbox:message_copy", args=[message.pk])
    client = login(seat_holder)
    response = _htmx(client, "post", url, {"copy_to_crm": "on"})
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page
    assert "checked" in page and "Queued" in page
    page = _htmx(client, "post", url).content.decode()
    assert "Withdrawn" in page and "checked" not in page


def test_ticking_a_message_without_htmx_returns_to_the_thread(login, seat_holder, writeback_on):
    message = MessageFactory(thread__seat=seat_holder)
    response = login(seat_holder).post(
        reverse("inbox:message_copy", args=[message.pk]), {"copy_to_crm": "on"}
    )
    assert response.url == reverse("inbox:thread", args=[message.thread_id])
    assert OutboxEntry.objects.get().state == OutboxState.QUEUED


def test_ticking_a_type_the_admin_does_not_copy_says_so(login, seat_holder):
    message = MessageFactory(thread__seat=seat_holder)
    client = login(seat_holder)
    url = reverse("inbox:message_copy", args=[message.pk])
    page = _htmx(client, "post", url, {"copy_to_crm": "on"}).content.decode()
    assert "Your admin has not turned on copying Messages to the CRM." in page
    response = client.post(url, {"copy_to_crm": "on"}, follow=True)
    assert "Your admin has not turned on copying Messages" in response.content.decode()
    assert not OutboxEntry.objects.exists()


def test_copy_thread_to_crm_answers_with_every_message(login, seat_holder, writeback_on):
    thread = ThreadFactory(seat=seat_holder)
    MessageFactory.create_batch(3, thread=thread)
    url = reverse("inbox:thread_copy", args=[thread.pk])
    page = _htmx(login(seat_holder), "post", url, {"copy_to_crm": "on"}).content.decode()
    assert page.count("Queued") == 3 and 'id="thread-messages"' in page
    assert OutboxEntry.objects.filter(state=OutboxState.QUEUED).count() == 3


def test_retry_puts_a_failed_item_back_in_the_queue(login, seat_holder, writeback_on):
    entry = OutboxEntryFactory(message__thread__seat=seat_holder, failed=True)
    client = login(seat_holder)
    page = _htmx(client, "post", reverse("writeback:retry", args=[entry.pk])).content.decode()
    assert "Queued" in page
    entry.refresh_from_db()
    assert entry.state == OutboxState.QUEUED
    # A second Retry has nothing to retry.
    page = _htmx(client, "post", reverse("writeback:retry", args=[entry.pk])).content.decode()
    assert "Only failed items can be retried; this one is queued." in page


def test_compose_offers_saved_leads_and_finds_members(login, seat_holder):
    SavedLeadFactory(seat=seat_holder, member__first_name="Saved", member__last_name="Lead")
    MemberFactory(first_name="Found", last_name="Bysearch", company_name="Fabrikam")
    client = login(seat_holder)
    page = client.get(reverse("inbox:new_message")).content.decode()
    assert "Saved Lead" in page and "Bysearch" not in page
    page = client.get(reverse("inbox:new_message"), {"q": "fabrikam"}).content.decode()
    assert "Found Bysearch" in page


def test_compose_search_with_htmx_swaps_only_the_members(login, seat_holder, member):
    client = login(seat_holder)
    response = _htmx(client, "get", reverse("inbox:new_inmail"), {"q": "Jane"})
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="recipients"')
    assert "Jane Doe" in page


def test_compose_preselects_the_member_it_was_opened_for(login, seat_holder, member):
    url = reverse("inbox:new_inmail")
    page = login(seat_holder).get(url, {"member_id": member.pk}).content.decode()
    assert f'value="{member.pk}" id="member-{member.pk}" checked' in page


def test_a_new_inmail_starts_a_thread(login, seat_holder, member, writeback_on):
    response = login(seat_holder).post(
        reverse("inbox:new_inmail"),
        {"member_id": member.pk, "subject": "Hello", "body": "Hi Jane", "copy_to_crm": "on"},
    )
    thread = Thread.objects.get()
    assert response.url == reverse("inbox:thread", args=[thread.pk])
    assert (thread.kind, thread.subject, thread.copy_to_crm) == ("inmail", "Hello", True)


def test_compose_errors_keep_everything_typed(login, seat_holder, member, writeback_on):
    response = login(seat_holder).post(
        reverse("inbox:new_inmail"),
        {"member_id": member.pk, "subject": "", "body": "A long thoughtful text"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "An InMail needs a subject." in page
    assert "A long thoughtful text" in page
    assert f'value="{member.pk}" id="member-{member.pk}" checked' in page
    # The checkbox stays as the seat holder left it (unticked), not back at its default.
    assert 'name="copy_to_crm" id="id_copy_to_crm" checked' not in page


def test_compose_needs_a_member(login, seat_holder):
    response = login(seat_holder).post(reverse("inbox:new_message"), {"body": "Hello"})
    assert response.status_code == 400
    assert "Choose who to write to." in response.content.decode()


def test_compose_defaults_the_checkbox_to_the_last_choice(login, seat_holder, member, writeback_on):
    message_send(seat=seat_holder, member=member, body="x", copy_to_crm=False)
    page = login(seat_holder).get(reverse("inbox:new_message")).content.decode()
    assert 'name="copy_to_crm" id="id_copy_to_crm"' in page
    assert 'name="copy_to_crm" id="id_copy_to_crm" checked' not in page
    page = login(seat_holder).get(reverse("inbox:new_inmail")).content.decode()
    assert 'name="copy_to_crm" id="id_copy_to_crm" checked' in page


def test_a_copy_in_flight_keeps_refreshing_its_state_until_it_settles(
    login, seat_holder, writeback_on
):
    entry = OutboxEntryFactory(message__thread__seat=seat_holder)
    client = login(seat_holder)
    url = reverse("inbox:message_copy", args=[entry.message.pk])
    page = _htmx(client, "get", url).content.decode()
    assert "Queued" in page
    assert f'hx-get="{url}" hx-trigger="every 3s"' in page

    OutboxEntry.objects.filter(pk=entry.pk).update(state=OutboxState.SENT)
    page = _htmx(client, "get", url).content.decode()
    assert "Sent to CRM" in page
    assert "hx-trigger" not in page.split("copy-control", 1)[1].split(">", 1)[0]


def test_another_seats_copy_state_is_not_found(login, seat_holder, outsider):
    entry = OutboxEntryFactory(message__thread__seat=seat_holder)
    client = login(outsider)
    url = reverse("inbox:message_copy", args=[entry.message.pk])
    assert _htmx(client, "get", url).status_code == 404
