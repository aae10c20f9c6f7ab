"""Settings for the test suite: the real settings plus what makes tests fast and deterministic.

django-q2 reads ``Q_CLUSTER`` once at import, so its ``sync`` flag must be set here rather than
with ``override_settings`` (see research/deps.md §2).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("PORTAL_ENCRYPTION_KEY", "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyEhISE=")
os.environ.setdefault("DYNAMICS_CLIENT_ID", "crm-sync-portal-demo")
os.environ.setdefault("DYNAMICS_CLIENT_SECRET", "demo-secret-not-for-production")
# Production mode (no DJANGO_DEBUG), on the SQLite file unless DATABASE_URL is set.
os.environ.setdefault("PORTAL_ALLOW_SQLITE", "1")

from config.settings import *  # noqa: E402,F403
from config.settings import DATABASES, Q_CLUSTER, VAR_DIR  # noqa: E402

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# Serve static files from the source folders; no collectstatic in tests.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True

# SQLite test databases live in a file (not in memory), so the browser tests' worker process can
# open the same database as the test; pytest-django adds a suffix per xdist worker.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-portal.sqlite3")}
