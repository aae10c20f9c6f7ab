"""*Alert emails*: each admin chooses which alerts they get, and how; the page shows what is wrong
on their own contract only."""

import re

import pytest
from django.urls import reverse

from alerts.models import AlertPreferences, Kind
from seats.models import AuditEntry
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

URL = reverse("alerts:preferences")
CHECKED = re.compile(
    r'<input type="(?:checkbox|radio)" name="([a-z_]+)"(?: value="([a-z]+)")?[^>]* checked>'
)


def _checked(page: str) -> set[str]:
    return {value or name for name, value in CHECKED.findall(page)}


def _every_kind(**changes) -> dict:
    data = {f"email_{kind}": "on" for kind in Kind.values}
    data["delivery"] = "each"
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_by_default_an_admin_gets_every_alert_as_it_happens(login, admin):
    page = login(admin).get(URL).content.decode()
    assert _checked(page) == {f"email_{kind}" for kind in Kind.values} | {"each"}
    assert "Email me when a sync fails" in page
    assert "Nothing: the sync and writeback work as they should." in page


def test_an_admin_mutes_a_kind_and_chooses_the_digest(login, admin):
    data = _every_kind(email_sync_failed=None, delivery="digest")
    response = login(admin).post(URL, data)

    assert response.status_code == 302
    preferences = AlertPreferences.objects.get(seat=admin)
    assert preferences.muted_kinds == [Kind.SYNC_FAILED]
    assert preferences.daily_digest is True
    entry = AuditEntry.objects.get(action="alerts.preferences")
    assert entry.after == {"muted_kinds": ["sync_failed"], "daily_digest": True}
    page = login(admin).get(URL).content.decode()
    assert _checked(page) == {f"email_{kind}" for kind in Kind.values} - {"email_sync_failed"} | {
        "digest"
    }


def test_each_admin_has_their_own_choices(login, admin, admin_only):
    login(admin).post(URL, _every_kind(delivery="digest"))
    assert not AlertPreferences.objects.filter(seat=admin_only).exists()


def test_a_bad_choice_is_refused_with_a_message(login, admin):
    response = login(admin).post(URL, _every_kind(delivery="carrier-pigeon"))
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert not AlertPreferences.objects.exists()


def test_the_page_shows_what_is_wrong_with_the_fix_link(login, admin):
    IncidentFactory(
        contract=admin.contract, fix_path="/seats/", fix_label="Admin / Seat Management"
    )
    page = login(admin).get(URL).content.decode()
    assert "The sync with your CRM failed" in page
    assert 'href="/seats/">Fix it on Admin / Seat Management' in page


def test_it_hides_other_contracts_incidents(login, admin, outsider):
    IncidentFactory(contract=outsider.contract, title="Fabrikam's own trouble")
    assert "Fabrikam" not in login(admin).get(URL).content.decode()


def test_seat_holders_may_not_open_it(login, seat_holder):
    assert login(seat_holder).get(URL).status_code == 403
    assert login(seat_holder).post(URL, _every_kind()).status_code == 403
