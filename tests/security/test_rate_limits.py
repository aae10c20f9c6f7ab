"""Password guessing is limited everywhere people sign in, and the limits hold across processes.

The staff admin's own login form is replaced by the portal's (allauth's) sign-in, which counts
failed attempts per email and per address; the counts live in the shared cache (the database by
default), so every web process and every machine sees the same ones.
"""

import os
import subprocess
import sys

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory
from tests.processes import ROOT, database_url

STAFF_EMAIL = "staff@crm-sync.test"
LOCKED_OUT = "Too many failed login attempts"


@pytest.fixture
def staff(db):
    return UserFactory(email=STAFF_EMAIL, is_staff=True, is_superuser=True)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_staff_admin_login_form_does_not_take_passwords(client, staff):
    for attempt in range(25):
        client.post(
            reverse("admin:login"), {"username": STAFF_EMAIL, "password": f"guess{attempt}"}
        )
    response = client.post(reverse("admin:login"), {"username": STAFF_EMAIL, "password": PASSWORD})
    assert not _signed_in(client)
    # It sends people to the portal's sign-in, which comes back to the admin afterwards.
    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next=%2Fadmin%2Flogin%2F"


def test_staff_are_locked_out_after_five_wrong_passwords_then_the_right_one_is_refused(
    client, staff
):
    for attempt in range(5):
        client.post(reverse("account_login"), {"login": STAFF_EMAIL, "password": f"guess{attempt}"})
    response = client.post(reverse("account_login"), {"login": STAFF_EMAIL, "password": PASSWORD})
    assert LOCKED_OUT in response.content.decode()
    assert not _signed_in(client)


def test_staff_sign_in_on_the_portal_and_land_in_the_admin(client, staff):
    start = client.get(reverse("admin:index"), follow=True)
    login_url = start.redirect_chain[-1][0]
    response = client.post(login_url, {"login": STAFF_EMAIL, "password": PASSWORD})
    assert response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_signed_in_seat_holder_is_refused_by_the_staff_admin_login(login, seat_holder):
    client = login(seat_holder)
    client.raise_request_exception = False
    assert client.get(reverse("admin:login")).status_code == 403


def test_the_limits_are_counted_in_the_database_cache(client, staff):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    client.post(reverse("account_login"), {"login": STAFF_EMAIL, "password": "guess"})
    # A second, independent cache client on the same table sees the attempt.
    other = DatabaseCache(settings.CACHES["default"]["LOCATION"], {})
    keys = [key for key in _cache_keys() if ":login_failed:" in key]
    assert keys
    assert all(other.get(key) for key in keys)


def _cache_keys() -> list[str]:
    table = connection.ops.quote_name(settings.CACHES["default"]["LOCATION"])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key FROM {table}")
        # Django stores "<prefix>:<version>:<key>"; the cache API takes the bare key.
        return [row[0].split(":", 2)[2] for row in cursor.fetchall()]


def _sign_in_from_another_process(email: str, password: str) -> str:
    """Try ``email``/``password`` on the sign-in page from a separate Python process on the same
    database (another web worker, as far as the limits can tell); return what it saw."""
    code = (
        "import django; django.setup();"
        "from django.test import Client; from django.test.utils import setup_test_environment;"
        "setup_test_environment(); client = Client();"
        f"page = client.post('/accounts/login/', {{'login': {email!r}, 'password': {password!r}}});"
        f"print('locked' if {LOCKED_OUT!r} in page.content.decode() else"
        " 'in' if '_auth_user_id' in client.session else 'refused')"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "Q_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=database_url(),
        DATABASE_CONN_MAX_AGE="0",
        PORTAL_VAR_DIR=str(settings.VAR_DIR),
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


@pytest.mark.django_db(transaction=True)
def test_failed_attempts_in_one_process_lock_the_account_in_another(client):
    UserFactory(email=STAFF_EMAIL, is_staff=True)
    try:
        # The other process can sign in: its settings and database are the ones under test.
        assert _sign_in_from_another_process(STAFF_EMAIL, PASSWORD) == "in"
        for attempt in range(5):
            client.post(
                reverse("account_login"), {"login": STAFF_EMAIL, "password": f"guess{attempt}"}
            )
        assert _sign_in_from_another_process(STAFF_EMAIL, PASSWORD) == "locked"
    finally:
        cache.clear()


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_cache(settings):
    """The default cache on a real Redis (as with ``REDIS_URL``), under a prefix of its own;
    yields the Redis client and the prefix."""
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-rate-limits-{os.getpid()}"
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        },
    }
    yield server, prefix
    for key in server.scan_iter(f"{prefix}:*"):
        server.delete(key)


def test_with_redis_the_failed_attempts_are_counted_in_redis(client, staff, redis_cache):
    server, prefix = redis_cache
    for attempt in range(5):
        client.post(reverse("account_login"), {"login": STAFF_EMAIL, "password": f"guess{attempt}"})
    response = client.post(reverse("account_login"), {"login": STAFF_EMAIL, "password": PASSWORD})
    assert LOCKED_OUT in response.content.decode()
    # A second client of the same Redis sees the counts.
    other = RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})
    keys = [key.decode().split(":", 2)[2] for key in server.scan_iter(f"{prefix}:*")]
    assert any(":login_failed:" in key and other.get(key) for key in keys)
