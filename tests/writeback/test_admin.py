"""Staff's *Retry writeback* on failed outbox entries, and the read-only item pages."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import MessageFactory, OutboxEntryFactory, UserFactory
from writeback.models import OutboxState

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_retry_failed_entries_and_skip_the_others(staff_client, writeback_on, seat_holder):
    failed = OutboxEntryFactory(message__thread__seat=seat_holder, failed=True)
    sent = OutboxEntryFactory(message__thread__seat=seat_holder, sent=True)
    response = staff_client.post(
        reverse("admin:writeback_outboxentry_changelist"),
        {"action": "retry_writeback", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "1 failed item(s) will be tried again. 1 skipped" in page
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.state, sent.state) == (OutboxState.QUEUED, OutboxState.SENT)


def test_outbox_entries_open_read_only(staff_client):
    entry = OutboxEntryFactory(failed=True)
    url = reverse("admin:writeback_outboxentry_change", args=[entry.pk])
    page = staff_client.get(url).content.decode()
    assert "The user does not hold the necessary privileges." in page
    assert 'name="_save"' not in page


def test_items_cannot_be_added_or_changed_by_staff(staff_client):
    message = MessageFactory()
    assert staff_client.get(reverse("admin:inbox_message_add")).status_code == 403
    url = reverse("admin:inbox_message_change", args=[message.pk])
    assert 'name="_save"' not in staff_client.get(url).content.decode()


def test_a_sent_item_shows_no_next_attempt(staff_client, seat_holder):
    """A sent item kept its worker's 15-minute lease in ``next_attempt_at``, shown as its next
    attempt."""
    lease_end = timezone.now() + timedelta(minutes=15)
    sent = OutboxEntryFactory(
        message__thread__seat=seat_holder, sent=True, next_attempt_at=lease_end
    )
    retrying = OutboxEntryFactory(
        message__thread__seat=seat_holder,
        state=OutboxState.RETRYING,
        next_attempt_at=timezone.now() + timedelta(minutes=2),
    )
    assert sent.next_attempt is None and retrying.next_attempt == retrying.next_attempt_at
    changelist = staff_client.get(reverse("admin:writeback_outboxentry_changelist"))
    rows = {
        entry.pk: changelist.context["cl"].model_admin.next_attempt(entry)
        for entry in changelist.context["cl"].result_list
    }
    assert rows == {sent.pk: "—", retrying.pk: retrying.next_attempt_at}
    detail = staff_client.get(reverse("admin:writeback_outboxentry_change", args=[sent.pk]))
    page = " ".join(detail.content.decode().split())
    assert re.search(r"<label>Next attempt:</label> <div class=\"readonly\">—</div>", page)
    assert "Next attempt at:" not in page
