"""Hostile input gets a clear 4xx answer, never a 500: deep JSON and oversized bodies on the
mobile API, ids too large for the database on the pages and in URLs."""

import pytest
from django.test import Client
from django.urls import reverse

from inbox.services import api_token_create
from seats.models import CrmSync, Seat

pytestmark = pytest.mark.django_db

# Larger than any id the database can hold (bigint tops out at 19 digits).
HUGE_ID = "9" * 20


@pytest.fixture
def api_client(seat_holder):
    _, token = api_token_create(user=seat_holder.user, name="phone")
    return Client(headers={"Authorization": f"Bearer {token}"}, raise_request_exception=False)


def _api_error(response) -> dict:
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


def test_a_json_body_nested_fifty_thousand_deep_is_a_400(api_client):
    body = "[" * 50_000 + "]" * 50_000
    response = api_client.post(reverse("api:threads"), body, content_type="application/json")
    assert response.status_code == 400
    error = _api_error(response)
    assert error["code"] == "invalid_json"
    assert "nested too deeply" in error["message"]


def test_an_api_body_over_the_size_limit_is_a_json_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"body": "' + "x" * 2000 + '"}'
    response = api_client.post(reverse("api:threads"), body, content_type="application/json")
    assert response.status_code == 413
    error = _api_error(response)
    assert error["code"] == "too_large"
    assert "1000 bytes" in error["message"]


def test_an_api_url_with_an_id_too_large_for_the_database_is_a_json_404(api_client):
    response = api_client.get(f"/api/v1/threads/{HUGE_ID}")
    assert response.status_code == 404
    assert _api_error(response)["code"] == "not_found"


def test_a_twenty_digit_seat_id_on_enable_crm_sync_is_a_404_and_changes_nothing(
    login, admin, seat_holder
):
    client = login(admin)
    client.raise_request_exception = False
    response = client.post(reverse("seats:sync_enable"), {"seat": [seat_holder.pk, HUGE_ID]})
    assert response.status_code == 404
    assert Seat.objects.get(pk=seat_holder.pk).crm_sync == CrmSync.DEFAULT


@pytest.mark.parametrize("name", ["seats:sync_enable", "seats:sync_disable"])
def test_a_negative_or_overflowing_seat_id_is_refused_on_every_bulk_action(login, admin, name):
    client = login(admin)
    client.raise_request_exception = False
    for value in (HUGE_ID, "-" + HUGE_ID, "1e400"):
        assert client.post(reverse(name), {"seat": value}).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        f"/seats/{HUGE_ID}/edit/",
        f"/network/accounts/{HUGE_ID}/",
        f"/network/leads/{HUGE_ID}/",
        f"/inbox/{HUGE_ID}/",
        f"/unresolved/{HUGE_ID}/",
        f"/admin-settings/crm/sync/runs/{HUGE_ID}/",
    ],
)
def test_a_page_url_with_an_id_too_large_for_the_database_is_a_404(login, admin, url):
    client = login(admin)
    client.raise_request_exception = False
    assert client.get(url).status_code == 404


def test_a_member_id_too_large_for_the_database_is_a_field_error(api_client):
    body = {"kind": "message", "member_id": int(HUGE_ID), "body": "Hello"}
    response = api_client.post(reverse("api:threads"), body, content_type="application/json")
    assert response.status_code == 400
    assert "member_id" in _api_error(response)["fields"]
