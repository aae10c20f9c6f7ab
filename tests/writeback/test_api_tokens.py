"""*Mobile app tokens*: one per device, shown once, stored only as a digest, revocable."""

import hashlib

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.services import api_token_authenticate, api_token_create, api_token_revoke
from seats.models import ApiToken

pytestmark = pytest.mark.django_db


def test_a_new_token_is_shown_once_and_stored_as_a_digest(login, seat_holder):
    client = login(seat_holder)
    response = client.post(reverse("inbox:api_tokens"), {"name": "Work iPhone"})
    token = ApiToken.objects.get()
    raw = response.context["new_token"]
    assert raw in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.digest, token.prefix, token.name} and raw.startswith(token.prefix)
    page = client.get(reverse("inbox:api_tokens")).content.decode()
    assert "Work iPhone" in page and raw not in page


def test_a_device_name_is_needed_and_unique_among_live_tokens(login, seat_holder):
    client = login(seat_holder)
    response = client.post(reverse("inbox:api_tokens"), {"name": ""})
    assert response.status_code == 400
    assert "Name the device" in response.content.decode()
    api_token_create(user=seat_holder.user, name="Tablet")
    response = client.post(reverse("inbox:api_tokens"), {"name": "tablet"})
    assert response.status_code == 400
    assert "You already have a token called “tablet”" in response.content.decode()


def test_revoking_signs_the_device_out(login, seat_holder):
    token, raw = api_token_create(user=seat_holder.user, name="Phone")
    assert api_token_authenticate(raw=raw) == token
    response = login(seat_holder).post(reverse("inbox:revoke_api_token", args=[token.pk]))
    assert response.status_code == 302
    assert api_token_authenticate(raw=raw) is None
    token.refresh_from_db()
    assert token.revoked_at is not None
    # The name is free again.
    api_token_create(user=seat_holder.user, name="Phone")


def test_nobody_revokes_someone_elses_token(login, seat_holder, admin):
    token, _ = api_token_create(user=admin.user, name="Phone")
    url = reverse("inbox:revoke_api_token", args=[token.pk])
    assert login(seat_holder).post(url).status_code == 404


def test_revoking_twice_keeps_the_first_date(seat_holder):
    token, _ = api_token_create(user=seat_holder.user, name="Phone")
    first = api_token_revoke(token=token).revoked_at
    assert api_token_revoke(token=token).revoked_at == first


def test_authenticating_notes_when_a_token_was_last_used(seat_holder, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    token, raw = api_token_create(user=seat_holder.user, name="Phone")
    assert token.last_used_at is None
    used = api_token_authenticate(raw=raw).last_used_at
    assert used is not None
    # Within a minute the stamp is not rewritten (no write on every request).
    time_machine.shift(30)
    assert api_token_authenticate(raw=raw).last_used_at == used
    time_machine.shift(31)
    assert api_token_authenticate(raw=raw).last_used_at > used


def test_an_inactive_users_token_does_not_work(seat_holder):
    _, raw = api_token_create(user=seat_holder.user, name="Phone")
    seat_holder.user.is_active = False
    seat_holder.user.save()
    assert api_token_authenticate(raw=raw) is None


def test_the_user_menu_offers_the_page_to_seat_holders_only(login, seat_holder, admin_only):
    assert b"Mobile app tokens" in login(seat_holder).get(reverse("inbox:inbox")).content
    page = login(admin_only).get(reverse("crm_settings:index")).content
    assert b"Mobile app tokens" not in page
