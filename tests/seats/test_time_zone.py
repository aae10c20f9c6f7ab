"""Times are shown in the viewer's zone, with the zone: their own choice, else their browser's."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from seats.timezones import COOKIE
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db

STARTED = datetime(2026, 11, 29, 14, 40, tzinfo=UTC)


@pytest.fixture
def run(contract):
    return SyncRunFactory(
        contract=contract, started_at=STARTED, finished_at=STARTED + timedelta(seconds=192)
    )


def _history(client) -> str:
    return client.get(reverse("sync:history")).content.decode()


def test_without_a_choice_times_follow_the_browsers_zone(login, admin, run, client):
    login(admin)
    client.cookies[COOKIE] = "Asia/Tokyo"
    page = _history(client)
    assert "29 Nov 2026, 23:40 JST" in page and "<td>3 min 12 s</td>" in page
    assert 'data-time-zone="Asia/Tokyo" data-time-zone-source="browser"' in page
    assert "Time zone: Asia/Tokyo" in page


def test_a_chosen_zone_wins_over_the_browsers(login, admin, run, client):
    admin.user.time_zone = "America/New_York"
    admin.user.save()
    login(admin)
    client.cookies[COOKIE] = "Asia/Tokyo"
    assert "29 Nov 2026, 09:40 EST" in _history(client)


def test_no_zone_known_means_the_servers(login, admin, run, client, settings):
    assert settings.TIME_ZONE == "UTC"  # PORTAL_TIME_ZONE's default
    login(admin)
    client.cookies[COOKIE] = "Mars/Olympus_Mons"
    page = _history(client)
    assert "29 Nov 2026, 14:40 UTC" in page
    assert 'data-time-zone-source="default"' in page


def test_choosing_a_zone_and_going_back_to_the_browsers(login, seat_holder, client):
    login(seat_holder)
    client.cookies[COOKIE] = "Europe/Paris"
    url = reverse("time_zone")
    form = client.get(url).content.decode()
    assert "Your browser&#x27;s time zone (Europe/Paris)" in form

    response = client.post(url, {"time_zone": "Australia/Sydney"}, follow=True)
    assert "Times are now shown in Australia/Sydney." in response.content.decode()
    seat_holder.user.refresh_from_db()
    assert seat_holder.user.time_zone == "Australia/Sydney"

    response = client.post(url, {"time_zone": ""}, follow=True)
    assert "Times are now shown in Europe/Paris." in response.content.decode()
    seat_holder.user.refresh_from_db()
    assert seat_holder.user.time_zone == ""


def test_a_zone_that_does_not_exist_is_refused_with_a_message(login, seat_holder, client):
    login(seat_holder)
    response = client.post(reverse("time_zone"), {"time_zone": "Europe/Atlantis"})
    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.content.decode()
    seat_holder.user.refresh_from_db()
    assert seat_holder.user.time_zone == ""


def test_the_time_zone_page_needs_a_sign_in(client):
    response = client.get(reverse("time_zone"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
