"""Switchable failures, so clients can be tested against a misbehaving org.

Faults apply to Web API requests (`/api/`) and the token endpoint only; sign-in pages, discovery
and the control endpoint are never faulted. Every decision draws from one `random.Random` per
process, seeded with `fault_seed`, so a run with the same seed and the same request order sees
the same faults.

A faulted request is never half-applied: `drop`, `error` and `throttle` are decided before the
request is processed (nothing is written), `drop_after_write` after a write fully committed (the
client loses the answer to a write that happened), `malformed` only replaces the body of reads
and token answers.
"""

from __future__ import annotations

import random
import threading

DEFAULTS: dict = {
    "error_rate": 0.0,            # 500 or 503 (503 carries Retry-After)
    "throttle_rate": 0.0,         # 429 + Retry-After, code 0x80072322
    "drop_rate": 0.0,             # close the connection without answering
    "drop_after_write_rate": 0.0,  # apply a write, then close without answering
    "latency_ms": 0,              # added before every faultable request
    "user_latency_ms": {},        # {user email: ms} added to that user's Web API requests
    "malformed_rate": 0.0,        # 200 with a broken body (reads and token answers)
    "malformed_kinds": ["html", "truncated", "no_value"],
    "missing_tables": [],         # logical names that vanish from the API and metadata
    "expire_delta_tokens": False,  # an action: expire every outstanding delta token now
    "unreachable": False,         # drop every API and token connection
    "deny": {},                   # {user email: [tables whose read is denied]}
    "retry_after": 1,             # seconds, for injected 429 and 503
    "scope": "all",               # which endpoints: "all", "api" or "token"
    "fault_seed": None,           # reseeds the fault random when given
}

_RATES = ("error_rate", "throttle_rate", "drop_rate", "drop_after_write_rate", "malformed_rate")
_KINDS = ("html", "truncated", "no_value")


def validate(changes: dict) -> dict:
    """Check a (partial) fault document; raises ValueError naming the bad key."""
    if not isinstance(changes, dict):
        raise ValueError("faults must be a JSON object")
    checked: dict = {}
    for key, value in changes.items():
        if key not in DEFAULTS:
            raise ValueError(f"unknown fault {key!r}; known: {', '.join(DEFAULTS)}")
        if key in _RATES:
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{key} must be a number from 0 to 1")
            value = float(value)
        elif key in ("latency_ms", "retry_after"):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a non-negative number")
        elif key in ("unreachable", "expire_delta_tokens"):
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
        elif key == "missing_tables":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError("missing_tables must be a list of logical names")
        elif key == "malformed_kinds":
            if not isinstance(value, list) or not value or any(v not in _KINDS for v in value):
                raise ValueError(f"malformed_kinds must be a non-empty list of {_KINDS}")
        elif key == "deny":
            if not isinstance(value, dict) or not all(
                    isinstance(v, list) and all(isinstance(t, str) for t in v)
                    for v in value.values()):
                raise ValueError("deny must map user emails to lists of table names")
            value = {email.lower(): tables for email, tables in value.items()}
        elif key == "user_latency_ms":
            if not isinstance(value, dict) or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
                    for v in value.values()):
                raise ValueError("user_latency_ms must map user emails to non-negative numbers")
            value = {email.lower(): ms for email, ms in value.items()}
        elif key == "scope":
            if value not in ("all", "api", "token"):
                raise ValueError("scope must be 'all', 'api' or 'token'")
        elif key == "fault_seed" and value is not None and not isinstance(value, int | str):
            raise ValueError("fault_seed must be an integer or a string")
        checked[key] = value
    return checked


class Faults:
    """The current fault settings and the seeded random that decides each request's fate."""

    def __init__(self, settings: dict | None = None, seed: int | str = 0):
        self._lock = threading.Lock()
        self._settings = dict(DEFAULTS)
        self._random = random.Random(seed)
        self.injected: dict[str, int] = {}
        if settings:
            self.update(settings)

    @property
    def settings(self) -> dict:
        with self._lock:
            return dict(self._settings)

    def update(self, changes: dict, *, replace: bool = False) -> bool:
        """Apply a (partial) fault document. Returns True when it asks to expire delta tokens,
        which the caller must do (that fault is an action, not a state)."""
        checked = validate(changes)
        expire = bool(checked.pop("expire_delta_tokens", False))
        with self._lock:
            if replace:
                self._settings = dict(DEFAULTS)
            self._settings.update(checked)
            if checked.get("fault_seed") is not None:
                self._random.seed(checked["fault_seed"])
        return expire

    def reset(self) -> None:
        with self._lock:
            self._settings = dict(DEFAULTS)

    def counts(self) -> dict[str, int]:
        """How many faults of each kind were injected since the last `reset_counts()`."""
        with self._lock:
            return dict(self.injected)

    def reset_counts(self) -> None:
        with self._lock:
            self.injected = {}

    def missing_tables(self) -> list[str]:
        with self._lock:
            return list(self._settings["missing_tables"])

    def denied(self, email: str | None, logical_name: str) -> bool:
        if not email:
            return False
        with self._lock:
            return logical_name in self._settings["deny"].get(email.lower(), [])

    def user_latency(self, email: str | None) -> float:
        """Seconds to add to a Web API request made with this user's token (one slow org among
        many sharing the emulator: each contract connects as its own user)."""
        if not email:
            return 0.0
        with self._lock:
            return self._settings["user_latency_ms"].get(email.lower(), 0) / 1000

    def _applies(self, kind: str) -> bool:
        scope = self._settings["scope"]
        return scope == "all" or scope == kind

    def _roll(self, name: str) -> bool:
        rate = self._settings[name]
        return rate > 0 and self._random.random() < rate

    def _count(self, what: str) -> None:
        self.injected[what] = self.injected.get(what, 0) + 1

    def before(self, kind: str) -> tuple[str | None, float]:
        """The fate of a request before it is processed: (None | "drop" | "error" |
        "throttle", seconds of latency to add). `kind` is "api" or "token"."""
        with self._lock:
            if not self._applies(kind):
                return None, 0.0
            latency = self._settings["latency_ms"] / 1000
            if self._settings["unreachable"] or self._roll("drop_rate"):
                fate = "drop"
            elif self._roll("error_rate"):
                fate = "error"
            elif self._roll("throttle_rate"):
                fate = "throttle"
            else:
                fate = None
            if fate:
                self._count(fate)
            return fate, latency

    def error_status(self) -> int:
        with self._lock:
            return self._random.choice((500, 503))

    def retry_after(self) -> int:
        with self._lock:
            return int(self._settings["retry_after"])

    def after(self, kind: str, method: str) -> str | None:
        """The fate of a processed request: None, "drop" (a write whose answer is lost) or
        "malformed" (a read or token answer with a broken body)."""
        with self._lock:
            if not self._applies(kind):
                return None
            fate = None
            if kind == "api" and method != "GET" and self._roll("drop_after_write_rate"):
                fate = "drop"
            elif (method == "GET" or kind == "token") and self._roll("malformed_rate"):
                fate = "malformed"
            if fate:
                self._count("drop_after_write" if fate == "drop" else fate)
            return fate

    def malformed_kind(self, is_collection: bool) -> str:
        with self._lock:
            kinds = list(self._settings["malformed_kinds"])
            if not is_collection and len(kinds) > 1 and "no_value" in kinds:
                kinds.remove("no_value")
            return self._random.choice(kinds)


def malformed_body(kind: str, body: bytes) -> tuple[bytes, str]:
    """A broken 200 body of this kind, and its content type."""
    if kind == "html":
        page = ("<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>"
                "<h1>Service Unavailable</h1><p>The service is temporarily unavailable. "
                "Please try again later.</p></body></html>")
        return page.encode(), "text/html; charset=utf-8"
    if kind == "truncated":
        cut = max(1, len(body) // 2) if body else 1
        return (body or b"{")[:cut], "application/json; odata.metadata=minimal"
    return b'{"@odata.context":"$metadata#unknown","values":"missing"}', \
        "application/json; odata.metadata=minimal"
