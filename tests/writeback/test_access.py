"""Scoping: another seat's threads, messages, notes and copies are 404; Admin only seats get 403.

Each object URL is tried by its owner (works), by a colleague on the same contract and by the
``outsider`` (both 404), and by an Admin only seat (403).
"""

import pytest
from django.urls import reverse

from tests.factories import MessageFactory, NoteFactory, OutboxEntryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(seat_holder, writeback_on):
    """One of each of the seat holder's objects, and the URLs that act on them."""
    message = MessageFactory(thread__seat=seat_holder)
    note = NoteFactory(seat=seat_holder)
    entry = OutboxEntryFactory(message__thread__seat=seat_holder, failed=True)
    return [
        ("get", reverse("inbox:thread", args=[message.thread_id])),
        ("post", reverse("inbox:thread", args=[message.thread_id])),
        ("post", reverse("inbox:thread_copy", args=[message.thread_id])),
        ("post", reverse("inbox:message_copy", args=[message.pk])),
        ("post", reverse("inbox:note_copy", args=[note.pk])),
        ("post", reverse("writeback:retry", args=[entry.pk])),
    ]


@pytest.mark.parametrize("intruder", ["admin", "outsider"])
def test_it_hides_other_seats_objects(request, client, owned, intruder):
    client.force_login(request.getfixturevalue(intruder).user)
    for method, url in owned:
        assert getattr(client, method)(url).status_code == 404, (method, url)


def test_admin_only_seats_have_no_seat_features(client, owned, admin_only, member):
    client.force_login(admin_only.user)
    urls = [
        *owned,
        ("get", reverse("inbox:lead_notes", args=[member.pk])),
        ("get", reverse("inbox:account_notes", args=[member.company_id])),
    ]
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 403, (method, url)


def test_the_owner_can_use_every_one_of_them(client, owned, seat_holder):
    client.force_login(seat_holder.user)
    for method, url in owned:
        assert getattr(client, method)(url).status_code in (200, 302, 400), (method, url)
