"""Notes on leads and accounts: the panel the network pages load, and its Copy to CRM."""

import pytest
from django.urls import reverse

from inbox.models import Note
from tests.factories import CompanyFactory, NoteFactory
from writeback.models import OutboxState

pytestmark = pytest.mark.django_db


def _htmx(client, method, url, data=None):
    return getattr(client, method)(url, data or {}, headers={"HX-Request": "true"})


def test_the_panel_shows_the_seats_own_notes_on_the_lead(login, seat_holder, admin, member):
    NoteFactory(seat=seat_holder, member=member, body="Prefers email")
    NoteFactory(seat=admin, member=member, body="Not mine")
    NoteFactory(seat=seat_holder, body="On someone else")
    url = reverse("inbox:lead_notes", args=[member.pk])
    response = _htmx(login(seat_holder), "get", url)
    page = response.content.decode()
    assert page.lstrip().startswith('<section class="panel" id="notes-panel"')
    assert "Prefers email" in page
    assert "Not mine" not in page and "On someone else" not in page


def test_without_htmx_the_panel_is_a_page_of_its_own(login, seat_holder, member):
    url = reverse("inbox:lead_notes", args=[member.pk])
    page = login(seat_holder).get(url).content.decode()
    assert "<html" in page and "Notes on Jane Doe" in page


def test_a_note_written_in_the_panel_is_saved_and_copied(login, seat_holder, member, writeback_on):
    url = reverse("inbox:lead_notes", args=[member.pk])
    client = login(seat_holder)
    assert 'id="id_copy_to_crm" checked' in _htmx(client, "get", url).content.decode()
    response = _htmx(client, "post", url, {"body": "Decision maker", "copy_to_crm": "on"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Decision maker" in page and "Queued" in page
    note = Note.objects.get()
    assert (note.member, note.delivery.state) == (member, OutboxState.QUEUED)


def test_a_note_on_an_account_without_htmx_returns_to_the_page(login, seat_holder):
    company = CompanyFactory()
    url = reverse("inbox:account_notes", args=[company.pk])
    response = login(seat_holder).post(url, {"body": "Renewal in Q3"})
    assert response.status_code == 302 and response.url == url
    assert Note.objects.get().company == company


def test_an_empty_note_is_refused_and_the_panel_keeps_its_state(login, seat_holder, member):
    url = reverse("inbox:lead_notes", args=[member.pk])
    response = _htmx(login(seat_holder), "post", url, {"body": "   "})
    # htmx only swaps successful answers: the errors come back with a 200.
    assert response.status_code == 200
    assert "Write your note." in response.content.decode()
    assert not Note.objects.exists()


def test_a_note_that_is_too_long_keeps_its_text(login, seat_holder, member):
    body = "n" * 5001
    url = reverse("inbox:lead_notes", args=[member.pk])
    response = login(seat_holder).post(url, {"body": body})
    assert response.status_code == 400
    assert body in response.content.decode()


def test_no_copy_checkbox_when_the_admin_does_not_copy_notes(login, seat_holder, member):
    NoteFactory(seat=seat_holder, member=member)
    page = login(seat_holder).get(reverse("inbox:lead_notes", args=[member.pk])).content
    assert b"Copy to CRM" not in page


def test_unticking_a_note_withdraws_its_copy(login, seat_holder, member, writeback_on):
    url = reverse("inbox:lead_notes", args=[member.pk])
    client = login(seat_holder)
    client.post(url, {"body": "Met at the fair", "copy_to_crm": "on"})
    note = Note.objects.get()
    page = _htmx(client, "post", reverse("inbox:note_copy", args=[note.pk])).content.decode()
    assert "Withdrawn" in page
    response = client.post(reverse("inbox:note_copy", args=[note.pk]), {"copy_to_crm": "on"})
    assert response.url == reverse("network:lead", args=[member.pk])
    note.delivery.refresh_from_db()
    assert note.delivery.state == OutboxState.QUEUED


def test_notes_on_a_member_that_does_not_exist_are_404(login, seat_holder):
    assert login(seat_holder).get(reverse("inbox:lead_notes", args=[999])).status_code == 404
