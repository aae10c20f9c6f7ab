"""Settings for the test suite: the real settings plus what makes tests fast and deterministic.

django-q2 reads ``Q_CLUSTER`` once at import, so its ``sync`` flag must be set here rather than
with ``override_settings`` (see research/deps.md §2).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("PORTAL_ENCRYPTION_KEY", "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyEhISE=")
os.environ.setdefault("DYNAMICS_CLIENT_ID", "crm-sync-portal-demo")
os.environ.setdefault("DYNAMICS_CLIENT_SECRET", "demo-secret-not-for-production")

from config.settings import *  # noqa: E402,F403
from config.settings import Q_CLUSTER  # noqa: E402

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# Serve static files from the source folders; no collectstatic in tests.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True
