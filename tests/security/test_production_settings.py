"""What a production deployment relies on: the Content-Security-Policy on every page, HSTS with
the HTTPS redirect, and a health check that needs no redirect."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_pages_allow_scripts_and_styles_from_the_portal_only(login, admin):
    policy = _policy(login(admin).get(reverse("seats:list")))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]


def test_the_sign_in_page_and_the_api_carry_the_policy_too(client):
    assert "Content-Security-Policy" in client.get(reverse("account_login"))
    assert "Content-Security-Policy" in client.get("/api/v1/openapi.json")


def test_with_the_https_redirect_on_browsers_are_told_to_keep_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    response = client.get(reverse("account_login"))
    assert response.status_code == 301
    assert response.url.startswith("https://")
    secure = client.get(reverse("account_login"), secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000"


def test_the_health_check_answers_plain_http_with_the_redirect_on(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("portal:healthz")).status_code == 200
