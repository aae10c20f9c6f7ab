"""Settings refuse malformed environment values with a message that names the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_addresses,
    env_base_url,
    env_bool,
    env_int,
    env_list,
    env_url,
    env_url_map,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)]
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("X_FLAG", value)
    assert env_bool("X_FLAG") is expected


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='maybe' is not a boolean"):
        env_bool("X_FLAG")


def test_env_int_refuses_words_and_out_of_range(monkeypatch):
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_NUM='ten' is not a whole number"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="minimum is 1"):
        env_int("X_NUM", 1, minimum=1)


def test_env_url_map_reads_pairs_of_urls(monkeypatch):
    monkeypatch.setenv("X_MAP", "https://127.0.0.1:8443/=http://127.0.0.1:8444, https://B=http://c")
    assert env_url_map("X_MAP") == {
        "https://127.0.0.1:8443": "http://127.0.0.1:8444",
        "https://b": "http://c",
    }
    monkeypatch.delenv("X_MAP")
    assert env_url_map("X_MAP") == {}


@pytest.mark.parametrize("value", ["https://a", "https://a=", "ftp://a=http://b", "a=b"])
def test_env_url_map_refuses_anything_but_pairs_of_urls(monkeypatch, value):
    monkeypatch.setenv("X_MAP", value)
    with pytest.raises(ImproperlyConfigured, match="X_MAP takes comma-separated pairs FROM=TO"):
        env_url_map("X_MAP")


def test_env_list_refuses_empty_items(monkeypatch):
    monkeypatch.setenv("X_LIST", "a,,b")
    with pytest.raises(ImproperlyConfigured, match="empty item"):
        env_list("X_LIST")
    monkeypatch.setenv("X_LIST", " a , b ")
    assert env_list("X_LIST") == ["a", "b"]


def test_env_addresses_reads_names_and_bare_addresses(monkeypatch):
    monkeypatch.setenv("X_ADMINS", "Ops Team <ops@example.com>, oncall@example.com")
    assert env_addresses("X_ADMINS") == [
        ("Ops Team", "ops@example.com"),
        ("", "oncall@example.com"),
    ]
    monkeypatch.setenv("X_ADMINS", "")
    assert env_addresses("X_ADMINS") == []


@pytest.mark.parametrize(
    "value", ["ops", "Ops <ops>", "Doe, Jane <jane@example.com>", "a@example.com,,b@example.com"]
)
def test_env_addresses_refuses_what_is_not_an_address(monkeypatch, value):
    monkeypatch.setenv("X_ADMINS", value)
    with pytest.raises(ImproperlyConfigured, match="is not an email address"):
        env_addresses("X_ADMINS")


def test_env_base_url_wants_a_site_address(monkeypatch):
    monkeypatch.setenv("X_BASE", "https://crm-sync.example.com/")
    assert env_base_url("X_BASE") == "https://crm-sync.example.com"
    monkeypatch.setenv("X_BASE", "https://example.com/portal")
    assert env_base_url("X_BASE") == "https://example.com/portal"
    for bad in ("https://user@example.com", "https://example.com/#top", "https://example.com:x"):
        monkeypatch.setenv("X_BASE", bad)
        with pytest.raises(ImproperlyConfigured, match=r"X_BASE="):
            env_base_url("X_BASE")


def test_admins_and_the_portal_address_come_from_the_environment(tmp_path):
    code = "import config.settings as s; print(s.ADMINS, s.SERVER_EMAIL, s.PORTAL_BASE_URL)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))}
    env.update(
        DJANGO_DEBUG="1",
        PORTAL_VAR_DIR=str(tmp_path),
        DJANGO_ADMINS="Ops <ops@example.com>",
        DEFAULT_FROM_EMAIL="CRM Sync <crm-sync@example.com>",
        PORTAL_BASE_URL="https://crm-sync.example.com/",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == (
        "[('Ops', 'ops@example.com')] CRM Sync <crm-sync@example.com> https://crm-sync.example.com"
    )


def test_env_url_checks_the_scheme(monkeypatch):
    monkeypatch.setenv("X_URL", "mysql://db/x")
    with pytest.raises(ImproperlyConfigured, match="must start with one of postgres://"):
        env_url("X_URL", schemes=("postgres",))


def _load_settings(**env):
    """Import the real settings module in a fresh interpreter with exactly ``env`` changed."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "Q_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


# Production mode: the secrets set, no DJANGO_DEBUG.
_PRODUCTION = {
    "DJANGO_SECRET_KEY": "k",
    "PORTAL_ENCRYPTION_KEY": "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyEhISE=",
}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG='maybe' is not a boolean"),
        ({}, "DJANGO_SECRET_KEY is not set"),
        ({"DJANGO_SECRET_KEY": "k"}, "PORTAL_ENCRYPTION_KEY is not set"),
        (
            {"DJANGO_SECRET_KEY": "k", "PORTAL_ENCRYPTION_KEY": "short"},
            "PORTAL_ENCRYPTION_KEY must be a Fernet key",
        ),
        ({"DJANGO_DEBUG": "1", "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must start with"),
        ({"DJANGO_DEBUG": "1", "Q_WORKERS": "lots"}, "Q_WORKERS='lots' is not a whole number"),
        (
            {"DJANGO_DEBUG": "1", "Q_TIMEOUT": "100", "Q_RETRY": "50"},
            "Q_RETRY (50) must be larger than Q_TIMEOUT (100)",
        ),
        ({"DJANGO_DEBUG": "1", "DYNAMICS_CA_BUNDLE": "/nope.pem"}, "is not a file"),
        ({"DJANGO_DEBUG": "1", "PORTAL_HSTS_SECONDS": "-1"}, "PORTAL_HSTS_SECONDS=-1 is too small"),
        ({"DJANGO_DEBUG": "1", "PORTAL_LOG_FORMAT": "xml"}, "PORTAL_LOG_FORMAT='xml' is not text"),
        ({"DJANGO_DEBUG": "1", "OUTBOX_LEASE_SECONDS": "1"}, "OUTBOX_LEASE_SECONDS=1 is too small"),
        ({"DJANGO_DEBUG": "1", "RETENTION_RUNS_DAYS": "0"}, "RETENTION_RUNS_DAYS=0 is too small"),
        (_PRODUCTION, "set PORTAL_ALLOW_SQLITE=1 to run production mode on SQLite"),
        (
            {**_PRODUCTION, "DATABASE_URL": "sqlite:////tmp/portal.sqlite3"},
            "The database is SQLite, which is for development",
        ),
        (
            {"DJANGO_DEBUG": "1", "DJANGO_ADMINS": "Ops <ops@example.com>,ops"},
            "DJANGO_ADMINS: item 2 ('ops') is not an email address",
        ),
        (
            {"DJANGO_DEBUG": "1", "PORTAL_BASE_URL": "https://portal.example.com/?x=1"},
            "is not a site address",
        ),
        ({"DJANGO_DEBUG": "1", "SENTRY_DSN": "sentry.example.com/1"}, "SENTRY_DSN must start"),
    ],
)
def test_settings_refuse_malformed_environment(env, message):
    result = _load_settings(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_migrations_can_be_checked_on_a_fresh_checkout_with_nothing_configured(tmp_path):
    """``manage.py makemigrations --check`` reads only the code: no secret needed. Commands
    that serve or touch data still refuse to start without one."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "Q_"))}
    clean.pop("DATABASE_URL", None)
    clean["PORTAL_VAR_DIR"] = str(tmp_path)

    def manage(*args):
        command = [sys.executable, "manage.py", *args]
        return subprocess.run(command, cwd=ROOT, env=clean, capture_output=True, text=True)

    checked = manage("makemigrations", "--check", "--dry-run")
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "No changes detected" in checked.stdout
    refused = manage("migrate", "--plan")
    assert refused.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in refused.stderr


def test_settings_load_with_safe_defaults_in_dev_mode(tmp_path):
    result = _load_settings(DJANGO_DEBUG="1", PORTAL_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dev-secret-key").exists()


def test_database_and_redis_urls_switch_backends(tmp_path):
    code = (
        "import config.settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['CONN_MAX_AGE'],"
        " 'redis' in s.Q_CLUSTER, 'orm' in s.Q_CLUSTER)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))}
    env.update(
        DJANGO_DEBUG="1",
        PORTAL_VAR_DIR=str(tmp_path),
        DATABASE_URL="postgres://u:p@127.0.0.1:5432/portal",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["django.db.backends.postgresql", "60", "True", "False"]


def _login_page_offers_microsoft(tmp_path, **extra_env) -> list[str]:
    code = (
        "import django; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from django.test import Client; from django.test.utils import setup_test_environment;"
        "setup_test_environment();"
        "page = Client().get('/accounts/login/').content.decode();"
        "print('/accounts/microsoft/login/' in page)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_DEBUG="1",
        PORTAL_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings",
        **extra_env,
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_microsoft_sign_in_turns_on_with_its_app_registration(tmp_path):
    assert _login_page_offers_microsoft(tmp_path / "off") == ["False"]
    on = _login_page_offers_microsoft(
        tmp_path / "on", MICROSOFT_CLIENT_ID="portal-users-app", MICROSOFT_CLIENT_SECRET="secret"
    )
    assert on == ["True"]


def _settings_value(tmp_path, expression: str, **env) -> str:
    """``expression`` evaluated on the real settings (``s``) in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "Q_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    clean.update({"DJANGO_DEBUG": "1", "PORTAL_VAR_DIR": str(tmp_path), **env})
    code = f"import config.settings as s; print({expression})"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_the_sign_in_limits_count_in_a_cache_every_process_shares(tmp_path):
    backend = "s.CACHES['default']['BACKEND']"
    assert _settings_value(tmp_path, backend) == "django.core.cache.backends.db.DatabaseCache"
    with_redis = _settings_value(tmp_path, backend, REDIS_URL="redis://127.0.0.1:6379/0")
    assert with_redis == "django.core.cache.backends.redis.RedisCache"


def test_per_address_limits_trust_the_proxy_only_when_behind_one(tmp_path):
    count = "s.ALLAUTH_TRUSTED_PROXY_COUNT"
    assert _settings_value(tmp_path, count) == "0"
    assert _settings_value(tmp_path, count, PORTAL_BEHIND_PROXY="1") == "1"
    assert _settings_value(tmp_path, count, PORTAL_TRUSTED_PROXY_COUNT="2") == "2"


def test_production_mode_runs_on_sqlite_only_when_allowed(tmp_path):
    engine = "s.DATABASES['default']['ENGINE']"
    allowed = _settings_value(
        tmp_path, engine, DJANGO_DEBUG="0", PORTAL_ALLOW_SQLITE="1", **_PRODUCTION
    )
    assert allowed == "django.db.backends.sqlite3"
    on_postgres = _settings_value(
        tmp_path, engine, DJANGO_DEBUG="0", DATABASE_URL="postgres://u@db/p", **_PRODUCTION
    )
    assert on_postgres == "django.db.backends.postgresql"


def test_hsts_is_on_for_a_year_wherever_the_portal_redirects_to_https(tmp_path):
    hsts = "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD"
    assert _settings_value(tmp_path, hsts) == "0 False False"
    assert _settings_value(tmp_path, hsts, PORTAL_SSL_REDIRECT="1") == "31536000 False False"
    chosen = _settings_value(
        tmp_path,
        hsts,
        PORTAL_SSL_REDIRECT="1",
        PORTAL_HSTS_SECONDS="600",
        PORTAL_HSTS_INCLUDE_SUBDOMAINS="1",
        PORTAL_HSTS_PRELOAD="1",
    )
    assert chosen == "600 True True"
