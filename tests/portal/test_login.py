"""Signing in and out through allauth's real forms."""

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_seat_holder_signs_in_with_email_and_password(client, seat_holder):
    response = client.post(
        reverse("account_login"), {"login": "rep@contoso.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("network:accounts")).status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, seat_holder):
    response = client.post(reverse("account_login"), {"login": "rep@contoso.test", "password": "x"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert client.get(reverse("network:accounts")).status_code == 302


def test_login_page_labels_every_field(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert '<label for="id_login">Email</label>' in page
    assert '<label for="id_password">Password</label>' in page
    assert page.count("<h1>") == 1


def test_the_visitor_returns_to_the_page_they_asked_for(client, admin):
    next_url = reverse("seats:list")
    response = client.get(next_url)
    login_url = response.url
    response = client.post(login_url, {"login": "admin@contoso.test", "password": PASSWORD})
    assert response.url == next_url


def test_sign_out(login, seat_holder):
    client = login(seat_holder)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get(reverse("network:accounts")).status_code == 302


def test_password_reset_sends_an_email(client, seat_holder):
    response = client.post(reverse("account_reset_password"), {"email": "rep@contoso.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "rep@contoso.test" in mail.outbox[0].to


def test_nobody_can_sign_up_on_their_own(client, db):
    response = client.get(reverse("account_signup"))
    assert "Sign Up Closed" in response.content.decode()
    client.post(
        reverse("account_signup"),
        {"email": "new@x.test", "password1": "a-long-pass-123", "password2": "a-long-pass-123"},
    )
    from seats.models import User

    assert not User.objects.filter(email="new@x.test").exists()
