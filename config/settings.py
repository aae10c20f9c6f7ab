"""Settings for the CRM Sync portal.

Everything comes from environment variables read through the strict helpers in ``config.env``.
With nothing set, a fresh checkout runs on an SQLite file and django-q2's ORM broker; set
``DATABASE_URL`` for PostgreSQL and ``REDIS_URL`` for the Redis broker. The README lists every
variable.
"""

import base64
import hashlib
import secrets
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_addresses,
    env_base_url,
    env_bool,
    env_fernet_keys,
    env_int,
    env_list,
    env_str,
    env_url,
    env_url_map,
)
from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)


def _dev_secret() -> str:
    """A per-checkout secret kept in ``var/``, so dev sessions survive restarts."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it, or set DJANGO_DEBUG=1 for a local dev key."
        )
    SECRET_KEY = _dev_secret()


def _dev_encryption_key() -> bytes:
    """A per-checkout Fernet key kept in ``var/``, so dev CRM sign-ins survive restarts."""
    path = VAR_DIR / "dev-encryption-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
    return path.read_bytes().strip()


def _encryption_keys() -> list[bytes]:
    """The Fernet keys of CRM tokens at rest (``PORTAL_ENCRYPTION_KEY``), newest first.

    The first encrypts; any of them decrypts, so a key is rotated by listing the new one first,
    running ``manage.py encryption_keys_rotate``, then dropping the old one (README).
    """
    keys = env_fernet_keys("PORTAL_ENCRYPTION_KEY")
    if keys:
        return keys
    if not DEBUG:
        raise ImproperlyConfigured(
            "PORTAL_ENCRYPTION_KEY is not set. Generate one with `python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        )
    # Dev mode used to derive its key from the secret key: still listed, so an existing dev
    # database reads its sign-ins, and encryption_keys_rotate moves them to the key in var/.
    derived = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest())
    return [_dev_encryption_key(), derived]


PORTAL_ENCRYPTION_KEYS = _encryption_keys()

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "django_q",
    # Our apps, lowest layer first (see DESIGN.md §3).
    "common",
    "seats",
    "crm_settings",
    "network",
    "sync",
    "inbox",
    "writeback",
    "alerts",
    "overview",
    "reports",
    "validation",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "seats.middleware.TenancyMiddleware",
    "seats.timezones.TimeZoneMiddleware",
    "portal.middleware.LogContextMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "seats.context_processors.tenancy",
            ],
            # Every template writes times one way, in the viewer's zone: |moment and |duration.
            "builtins": ["common.templatetags.when"],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
            "OPTIONS": {
                # The web server and the task worker write to the same file: wait for locks
                # instead of failing, and take the write lock up front (django-q2 #144).
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
# SQLite is one file, one writer at a time, no second machine: fine for the demo and tests, not
# for customers' data. Production mode runs on PostgreSQL unless the operator says otherwise.
_ON_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if _ON_SQLITE and not DEBUG and not env_bool("PORTAL_ALLOW_SQLITE", False):
    raise ImproperlyConfigured(
        "The database is SQLite, which is for development. Set DATABASE_URL to a PostgreSQL "
        "database, set DJANGO_DEBUG=1 for dev mode, or set PORTAL_ALLOW_SQLITE=1 to run "
        "production mode on SQLite anyway."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts (django-allauth) ------------------------------------------------------------------
AUTH_USER_MODEL = "seats.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = None
# An invitation is a set-password link: choosing the password signs the person in and takes them
# where their role works (LOGIN_REDIRECT_URL: a seat holder's Accounts), not to a "done" page.
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
ACCOUNT_ADAPTER = "seats.adapters.InviteOnlyAccountAdapter"
SOCIALACCOUNT_ADAPTER = "seats.adapters.InviteOnlySocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True

# Microsoft sign-in for portal users turns on when its app registration is configured.
MICROSOFT_CLIENT_ID = env_str("MICROSOFT_CLIENT_ID")
if MICROSOFT_CLIENT_ID:
    INSTALLED_APPS.append("allauth.socialaccount.providers.microsoft")
    SOCIALACCOUNT_PROVIDERS = {
        "microsoft": {
            "APPS": [
                {
                    "client_id": MICROSOFT_CLIENT_ID,
                    "secret": env_str("MICROSOFT_CLIENT_SECRET"),
                    "settings": {"tenant": env_str("MICROSOFT_TENANT", "organizations")},
                }
            ]
        }
    }
    if not SOCIALACCOUNT_PROVIDERS["microsoft"]["APPS"][0]["secret"]:
        raise ImproperlyConfigured("MICROSOFT_CLIENT_ID is set but MICROSOFT_CLIENT_SECRET is not.")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CRM Sync <crm-sync@localhost>")
# The portal's public address, for links in emails that tasks send (alerts): they have no request
# to take it from. Unset in production, the alert emails name the page instead of linking to it
# (and `check --deploy` warns).
PORTAL_BASE_URL = env_base_url("PORTAL_BASE_URL", "http://127.0.0.1:8000" if DEBUG else "")

# --- Errors to the operator's staff -------------------------------------------------------------
# Django mails every logged error (500s, failed tasks, unexpected import failures) to ADMINS:
# "Name <address>,address,..." (config/errors.py keeps form values and cookies out of them).
ADMINS = env_addresses("DJANGO_ADMINS")
SERVER_EMAIL = env_str("DJANGO_SERVER_EMAIL", DEFAULT_FROM_EMAIL)
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.errors.StaffReportFilter"
# Sentry, when SENTRY_DSN is set: errors with their ids and text, nothing people typed or hold.
SENTRY_DSN = env_url("SENTRY_DSN", schemes=("https", "http"))
if SENTRY_DSN:
    from config.errors import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT", "production"))

# --- Security -----------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("PORTAL_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("PORTAL_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("PORTAL_BEHIND_PROXY", False) else None
)
# Load balancers probe /healthz and /readyz over plain HTTP inside the network: answer them, not
# redirect.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz)$"]
# HSTS: once a browser has seen the portal over HTTPS it never uses plain HTTP for it again. On by
# default wherever the portal redirects to HTTPS; subdomains and the browsers' preload list are
# the operator's call for their whole domain, so they stay off unless asked for.
SECURE_HSTS_SECONDS = env_int(
    "PORTAL_HSTS_SECONDS", 31_536_000 if SECURE_SSL_REDIRECT else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PORTAL_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("PORTAL_HSTS_PRELOAD", False)
# `check --deploy` warnings accepted on purpose (.ci/run fails on any other):
SILENCED_SYSTEM_CHECKS = [
    # security.W005, W021: HSTS for every subdomain, and the browsers' preload list, bind the
    # operator's whole domain (and preload cannot be undone quickly): off unless they turn them
    # on with PORTAL_HSTS_INCLUDE_SUBDOMAINS / PORTAL_HSTS_PRELOAD.
    "security.W005",
    "security.W021",
]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles, images and fonts come from the portal
# itself, never inline (base.html tells htmx not to add its own style or evaluate code), no
# plugins, no framing. No form-action: browsers apply it to the redirect after a form is sent,
# and *Connect to CRM* and "Sign in with Microsoft" redirect to the identity provider's sign-in
# page, whose address comes from the provider's own metadata.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

# --- Internationalisation and static files ------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("PORTAL_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG

# --- Background work (django-q2) ----------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss"))
Q_TIMEOUT = env_int("Q_TIMEOUT", 900, minimum=10)
Q_RETRY = env_int("Q_RETRY", Q_TIMEOUT + 60, minimum=11)
if Q_RETRY <= Q_TIMEOUT:
    raise ImproperlyConfigured(
        f"Q_RETRY ({Q_RETRY}) must be larger than Q_TIMEOUT ({Q_TIMEOUT}), or a task still "
        "running would be handed to a second worker."
    )
Q_CLUSTER = {
    "name": "portal",
    "workers": env_int("Q_WORKERS", 2, minimum=1, maximum=64),
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    # A failing task is retried a bounded number of times; our tasks resume from checkpoints.
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 3, minimum=1, maximum=20),
    "catch_up": False,
    "save_limit": 500,
    "poll": 0.5,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    # Keep the ORM broker on 'default' (a separate alias breaks the scheduler, django-q2 #293).
    Q_CLUSTER["orm"] = "default"

# /readyz reports "not ready" when no worker ran the minute's heartbeat schedule for this long.
READYZ_WORKER_STALE_SECONDS = env_int("READYZ_WORKER_STALE_SECONDS", 300, minimum=60)

# --- Cache --------------------------------------------------------------------------------------
# The sign-in limits (allauth's rate limits: failed logins, password resets...) count in the
# default cache. Every web process and machine must share it, or N processes allow N times the
# attempts: the database by default (``migrate`` creates its table), Redis with REDIS_URL.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
            # Culling past MAX_ENTRIES drops live counters too: keep it far above the number of
            # emails and addresses being limited at once, so a flood cannot reset a limit.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
# django-q2's cluster statistics (ORM broker) are per process and rewritten every few seconds:
# they stay in memory rather than add writes to the database.
CACHES["local"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
Q_CLUSTER["cache"] = "local"
# Behind a proxy every visitor arrives from the proxy's address: count per-address limits by the
# client address the trusted proxies put in X-Forwarded-For.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int(
    "PORTAL_TRUSTED_PROXY_COUNT", 1 if SECURE_PROXY_SSL_HEADER else 0, minimum=0, maximum=10
)

# --- Dynamics 365 -------------------------------------------------------------------------------
# The app registration the portal uses to sign admins in to Dynamics (README: "Connecting to a
# real Dynamics org").
DYNAMICS_CLIENT_ID = env_str("DYNAMICS_CLIENT_ID")
DYNAMICS_CLIENT_SECRET = env_str("DYNAMICS_CLIENT_SECRET")
DYNAMICS_AUTHORITY_HOST = env_url(
    "DYNAMICS_AUTHORITY_HOST", "https://login.microsoftonline.com", schemes=("https",)
).rstrip("/")
DYNAMICS_DEFAULT_TENANT = env_str("DYNAMICS_DEFAULT_TENANT", "organizations")
# Exact host or host:port entries, besides the Dynamics hosts, an operator allows as environment
# URLs (e.g. the emulator's 127.0.0.1:8443); see dynamics/environment.py.
DYNAMICS_EXTRA_ALLOWED_HOSTS = env_list("DYNAMICS_EXTRA_ALLOWED_HOSTS")
# A CA bundle to trust for Dynamics and its sign-in (the emulator's self-signed certificate).
# Where a browser opens an environment's records, when not at the environment URL itself: only
# the emulator (demo, dev, browser tests), whose HTTPS port has a self-signed certificate and
# which serves its record pages on a plain-http port too. A real org's links are never mapped.
DYNAMICS_BROWSER_URLS = env_url_map("DYNAMICS_BROWSER_URLS")
DYNAMICS_CA_BUNDLE = env_str("DYNAMICS_CA_BUNDLE")
if DYNAMICS_CA_BUNDLE and not Path(DYNAMICS_CA_BUNDLE).is_file():
    raise ImproperlyConfigured(f"DYNAMICS_CA_BUNDLE={DYNAMICS_CA_BUNDLE!r} is not a file.")
DYNAMICS_PAGE_SIZE = env_int("DYNAMICS_PAGE_SIZE", 5000, minimum=1, maximum=5000)
# Percent of Dataverse's service protection budget (requests and execution time per 5 minutes)
# kept for the connected user's own use: below it, scheduled imports and writeback wait.
DYNAMICS_BUDGET_RESERVE = env_int("DYNAMICS_BUDGET_RESERVE", 25, minimum=0, maximum=90)

# --- Import (sync) ------------------------------------------------------------------------------
# A running import whose heartbeat (refreshed after every page) is older than this is taken to be
# dead (kill -9, a lost machine, the task timeout); the next trigger resumes it from its last page.
SYNC_STALE_SECONDS = env_int("SYNC_STALE_SECONDS", 300, minimum=5)
# On PostgreSQL, once the accounts are read, opportunities are read alongside contacts (two
# database connections); off, or on SQLite, the tables are read one after another.
SYNC_PARALLEL_READS = env_bool("SYNC_PARALLEL_READS", True)

# --- Writeback (outbox) -------------------------------------------------------------------------
# How long a worker holds the items it claimed without renewing them. A live worker renews every
# third of it while its batch runs; a dead one's items are due again this long after its last
# renewal, and the minute sweep hands them to another worker.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 60, minimum=3, maximum=3600)

# --- Retention (portal.retention, pruned hourly) ------------------------------------------------
# Days kept: finished sync runs and their per-record problems (each contract's runs that CRM
# Settings shows are always kept) and the hours of API usage, audit entries, and django-q2's
# task results.
RETENTION_RUNS_DAYS = env_int("RETENTION_RUNS_DAYS", 90, minimum=1)
RETENTION_AUDIT_DAYS = env_int("RETENTION_AUDIT_DAYS", 365, minimum=1)
RETENTION_TASKS_DAYS = env_int("RETENTION_TASKS_DAYS", 7, minimum=1)

# --- Logging ---------------------------------------------------------------------------------
# One console handler: readable text, or one JSON object per line with PORTAL_LOG_FORMAT=json.
# Each line carries the ids of its contract, seat, request, sync run or outbox item, and is
# redacted of tokens and secrets first (config/logs.py).
LOG_LEVEL = env_str("PORTAL_LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"PORTAL_LOG_LEVEL={LOG_LEVEL!r} is not a logging level.")
LOG_FORMAT = env_str("PORTAL_LOG_FORMAT", "text").lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"PORTAL_LOG_FORMAT={LOG_FORMAT!r} is not text or json.")
LOGGING = logging_config(
    level=LOG_LEVEL,
    log_format=LOG_FORMAT,
    q_level=env_str("PORTAL_Q_LOG_LEVEL", "WARNING").upper(),
)
