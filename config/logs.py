"""Log lines: readable text by default, JSON with ``PORTAL_LOG_FORMAT=json``; each carries the ids
of the work it is about, and none holds a token or a secret.

- ``log_context(contract_id=..., run_id=...)`` sets ids for every line logged inside it (the sync
  run, the outbox drain, each request through ``portal.middleware.LogContextMiddleware``). It is
  a context variable: a thread started with ``contextvars.copy_context().run`` carries it too.
- ``ContextFilter`` puts ``request_id``, ``contract_id``, ``seat_id``, ``run_id`` and
  ``item_id`` on each record; ``TextFormatter`` and ``JsonFormatter`` write them.
- ``RedactFilter`` rewrites each record's message, traceback and stack before any output:
  bearer tokens, ``access_token`` / ``refresh_token`` / ``id_token`` / ``client_secret`` (and
  msal's ``secret``) values, JWTs, Fernet keys and tokens, and the secrets the settings hold.
- ``ExpectedClientErrorFilter`` (on ``django.request``): a 403 or 404 is one warning line,
  never a traceback.

Plain Python and ``django.conf.settings`` only: logging is configured before the apps load.
"""

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

FIELDS = ("request_id", "contract_id", "seat_id", "run_id", "item_id")
REDACTED = "[redacted]"

_ids: ContextVar[dict | None] = ContextVar("log_ids", default=None)


@contextlib.contextmanager
def log_context(**ids) -> Iterator[None]:
    """Every line logged inside carries these ids (``None`` leaves an id as it was)."""
    unknown = set(ids) - set(FIELDS)
    if unknown:
        raise TypeError(f"Not a log context field: {', '.join(sorted(unknown))}")
    token = _ids.set({**(_ids.get() or {}), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _ids.reset(token)


def _from_request(request) -> dict:
    """The ids of a request Django logs about (django.request passes it, after our middleware
    has ended its context)."""
    seat = getattr(request, "seat", None)
    return {
        "request_id": getattr(request, "request_id", None),
        "contract_id": getattr(seat, "contract_id", None),
        "seat_id": getattr(seat, "pk", None),
    }


class ContextFilter(logging.Filter):
    """Adds the ids of the current work (``FIELDS``) to each record; ``None`` when not set."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = dict(_ids.get() or {})
        request = getattr(record, "request", None)
        if request is not None:
            for name, value in _from_request(request).items():
                if value is not None:
                    ids.setdefault(name, value)
        for name in FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, ids.get(name))
        return True


# Values after these names, in JSON ("access_token": "..."), Python reprs, forms and query
# strings (refresh_token=...), or headers (client_secret: ...). "secret" is msal's token cache.
_SECRET_NAMES = (
    "access_token|refresh_token|id_token|client_secret|client_assertion|assertion|secret|"
    "code_verifier|password|sessionid|csrftoken"
)
_PATTERNS = [
    (
        re.compile(rf"""(?i)(["']?\b(?:{_SECRET_NAMES})\b["']?\s*[:=]\s*["']?)[^"'&\s,;}}\]]+"""),
        rf"\1{REDACTED}",
    ),
    # An OAuth authorization code: in a callback URL, or a long value named "code" (msal's
    # DEBUG lines); a Dynamics error code ("code": "0x80040220") stays readable.
    (re.compile(r"([?&]code=)[^&\s\"']+"), rf"\1{REDACTED}"),
    (
        re.compile(r"""(?i)(["']?\bcode\b["']?\s*[:=]\s*["']?)[A-Za-z0-9._~-]{20,}"""),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
    # JWTs (Entra ID's access and id tokens).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    # Fernet tokens (the encrypted sign-ins) and Fernet keys (32 bytes, urlsafe base64).
    (re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"), REDACTED),
    (re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}="), REDACTED),
]


def _configured_secrets() -> list[str]:
    """The secret values the settings hold, longest first (so none is cut by a shorter one)."""
    from django.conf import settings

    values = [
        getattr(settings, "SECRET_KEY", ""),
        getattr(settings, "DYNAMICS_CLIENT_SECRET", ""),
        getattr(settings, "EMAIL_HOST_PASSWORD", ""),
        *(key.decode() for key in getattr(settings, "PORTAL_ENCRYPTION_KEYS", [])),
    ]
    for provider in getattr(settings, "SOCIALACCOUNT_PROVIDERS", {}).values():
        values += [app.get("secret", "") for app in provider.get("APPS", [])]
    # Short values would blank out ordinary words; real secrets are long.
    return sorted({v for v in values if v and len(v) >= 8}, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every token, key and secret it holds replaced by ``[redacted]``."""
    for secret in _configured_secrets():
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    """Rewrites the record's message, traceback and stack with ``redact``, before any handler
    formats it (the record is then the same for every handler after this one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call must not lose the line, nor leak its arguments
            message = f"{record.msg} (unformattable arguments)"
        record.msg, record.args = redact(str(message)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class ExpectedClientErrorFilter(logging.Filter):
    """``django.request`` logs a PermissionDenied with its traceback: a 4xx is the portal
    answering as designed (another contract's object, a too-low role), so one line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= (getattr(record, "status_code", None) or 0) < 500:
            record.exc_info = None
            record.exc_text = None
        return True


def _ids_of(record: logging.LogRecord) -> dict:
    return {name: value for name in FIELDS if (value := getattr(record, name, None)) is not None}


class TextFormatter(logging.Formatter):
    """``2026-05-04 10:00:00,123 INFO sync.services [contract=3 run=12]: Sync run 12 failed``."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = _ids_of(record)
        record.ids = (
            " [" + " ".join(f"{n.removesuffix('_id')}={v}" for n, v in ids.items()) + "]"
            if ids
            else ""
        )
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_ids_of(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def logging_config(*, level: str, log_format: str, q_level: str) -> dict:
    """The ``LOGGING`` setting: a console handler and the staff's error mail (``ADMINS``, none
    when unset), both behind the context and redaction filters."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "config.logs.ContextFilter"},
            "redact": {"()": "config.logs.RedactFilter"},
            "expected_client_errors": {"()": "config.logs.ExpectedClientErrorFilter"},
            "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        },
        "formatters": {
            "text": {"()": "config.logs.TextFormatter"},
            "json": {"()": "config.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context", "redact"],
            },
            # Every ERROR record, from requests and from tasks alike, to ADMINS.
            "mail_admins": {
                "class": "django.utils.log.AdminEmailHandler",
                "level": "ERROR",
                "filters": ["require_debug_false", "context", "redact"],
            },
        },
        "root": {"handlers": ["console", "mail_admins"], "level": level},
        "loggers": {
            # Django's own default handlers would mail a failed request a second time: its
            # records reach ADMINS through the root logger like everyone else's.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            # msal logs token-cache details at DEBUG; never let that reach the logs.
            "msal": {"level": "WARNING"},
            "django_q": {"level": q_level},
            "django.request": {"filters": ["expected_client_errors"]},
        },
    }
