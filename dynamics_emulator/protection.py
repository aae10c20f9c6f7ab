"""Service protection: Dataverse's per-user API limits, enforced and reported like Dataverse does.

Dataverse's documented defaults (api-limits.md, research §6), per user in a sliding 5-minute
window: 6,000 requests, 20 minutes (1,200 s) of combined execution time, and 52 concurrent
requests. Past a limit the Web API answers 429 with `Retry-After` (whole seconds) and one of three
error codes; every answer carries what is left in two headers:

- `x-ms-ratelimit-burst-remaining-xrm-requests`: requests left in the window (`5999`);
- `x-ms-ratelimit-time-remaining-xrm-requests`: execution seconds left (`1,199.46`: grouped, two
  decimals, as Dataverse formats it).

How the limits are applied here (the docs describe the behaviour, not the algorithm):

1. Every authenticated Web API request of a user counts in that user's request window, also one
   that is refused: a client that keeps sending keeps its window full, which is how Dataverse
   "extends the duration" for clients that do not wait.
2. A user who was answered 429 for requests or execution time is refused everything until the
   `Retry-After` that answer announced; each request in that time counts as `early` (what a
   well-behaved client never does) and is told the time still left.
3. Otherwise: too many in flight is refused at once (concurrency, `Retry-After` =
   `concurrency_retry_after`, no block); a full request window or spent execution time is refused
   with the seconds until enough of the window has slid by.
4. An admitted request's execution time (the Web API's own work, `$batch` parts included, fault
   latency excluded) is added to the window when it ends.

Settings come from `--service-protection JSON` (or `--rate-limit N/SECONDS`), the environment
variable `DYNAMICS_EMULATOR_SERVICE_PROTECTION` (JSON), and at run time from
`/_emulator/service-protection` (GET, PUT replace, PATCH merge, DELETE back to the start-up
limits with empty windows).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass, field

from .wire import (
    CONCURRENCY_LIMIT_EXCEEDED,
    EXECUTION_TIME_LIMIT_EXCEEDED,
    THROTTLED_REQUESTS,
    DataverseError,
)

REQUESTS_HEADER = "x-ms-ratelimit-burst-remaining-xrm-requests"
TIME_HEADER = "x-ms-ratelimit-time-remaining-xrm-requests"
ENVIRONMENT_VARIABLE = "DYNAMICS_EMULATOR_SERVICE_PROTECTION"

DEFAULTS: dict = {
    "enabled": True,
    "requests": 6000,              # per user in the window (0x80072322, SDK -2147015902)
    "window": 300,                 # seconds, sliding
    "execution_seconds": 1200,     # combined per user in the window (0x80072321, -2147015903)
    "concurrent": 52,              # one user's requests in flight (0x80072326, -2147015898)
    "concurrency_retry_after": 1,  # seconds; the docs name none for this limit
}

_POSITIVE = ("requests", "window", "execution_seconds", "concurrent")


def validate(changes: dict) -> dict:
    """Check a (partial) settings document; raises ValueError naming the bad key."""
    if not isinstance(changes, dict):
        raise ValueError("service protection settings must be a JSON object")
    checked: dict = {}
    for key, value in changes.items():
        if key not in DEFAULTS:
            raise ValueError(f"unknown service protection setting {key!r}; known: "
                             f"{', '.join(DEFAULTS)}")
        if key == "enabled":
            if not isinstance(value, bool):
                raise ValueError("enabled must be true or false")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number")
        elif key in _POSITIVE and value <= 0:
            raise ValueError(f"{key} must be above 0")
        elif key in ("requests", "concurrent") and value != int(value):
            raise ValueError(f"{key} must be a whole number")
        elif value < 0:
            raise ValueError(f"{key} must not be negative")
        if key in ("requests", "concurrent"):
            value = int(value)
        checked[key] = value
    return checked


def parse_rate_limit(text: str) -> dict:
    """`--rate-limit 6000/300` (requests per seconds) as settings."""
    limit, _, window = text.partition("/")
    try:
        settings = {"requests": int(limit), "window": float(window or 300)}
    except ValueError as error:
        raise ValueError(f"--rate-limit must look like 6000/300, not {text!r}") from error
    try:
        return validate(settings)
    except ValueError as error:
        raise ValueError("--rate-limit needs a positive count and window") from error


@dataclass
class _User:
    """One user's windows."""

    arrivals: collections.deque = field(default_factory=collections.deque)  # monotonic times
    executions: collections.deque = field(default_factory=collections.deque)  # (end, seconds)
    execution_total: float = 0.0
    in_flight: int = 0
    blocked_until: float = 0.0
    blocked_code: str = ""
    blocked_message: str = ""
    throttled: int = 0
    early: int = 0


@dataclass
class Ticket:
    """An admitted request; hand it back to `ServiceProtection.finish` when it is answered."""

    user_id: str
    started: float


class ServiceProtection:
    """The current limits and every user's windows (thread-safe)."""

    def __init__(self, settings: dict | None = None, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._initial = dict(DEFAULTS) | validate(settings or {})
        self._settings = dict(self._initial)
        self._users: dict[str, _User] = collections.defaultdict(_User)

    @property
    def settings(self) -> dict:
        with self._lock:
            return dict(self._settings)

    def update(self, changes: dict, *, replace: bool = False) -> dict:
        """Apply a (partial) settings document; `replace` starts from Dataverse's defaults."""
        checked = validate(changes)
        with self._lock:
            if replace:
                self._settings = dict(DEFAULTS)
            self._settings.update(checked)
            return dict(self._settings)

    def reset(self) -> None:
        """The start-up limits and empty windows (requests in flight stay counted)."""
        with self._lock:
            self._settings = dict(self._initial)
            for user in self._users.values():
                user.arrivals.clear()
                user.executions.clear()
                user.execution_total = 0.0
                user.blocked_until = 0.0
                user.throttled = user.early = 0

    # -- one request ---------------------------------------------------------------------------

    def admit(self, user_id: str) -> Ticket:
        """Count one request of `user_id`; raise Dataverse's 429 when a limit says no."""
        now = self._clock()
        with self._lock:
            settings = self._settings
            user = self._users[user_id]
            if not settings["enabled"]:
                user.in_flight += 1
                return Ticket(user_id, now)
            self._slide(user, now)
            user.arrivals.append(now)
            if now < user.blocked_until:
                user.early += 1
                raise self._refuse(user, now, user.blocked_code, user.blocked_message,
                                   user.blocked_until - now, block=False)
            if user.in_flight >= settings["concurrent"]:
                raise self._refuse(
                    user, now, CONCURRENCY_LIMIT_EXCEEDED,
                    f"Number of concurrent requests exceeded the limit of "
                    f"{settings['concurrent']}.",
                    settings["concurrency_retry_after"], block=False)
            if len(user.arrivals) > settings["requests"]:
                # Room for one more once all but limit - 1 of the counted requests slid out.
                oldest_kept = user.arrivals[len(user.arrivals) - settings["requests"]]
                raise self._refuse(
                    user, now, THROTTLED_REQUESTS,
                    f"Number of requests exceeded the limit of {settings['requests']} over "
                    f"time window of {_seconds(settings['window'])} seconds.",
                    oldest_kept + settings["window"] - now, block=True)
            if user.execution_total >= settings["execution_seconds"]:
                raise self._refuse(
                    user, now, EXECUTION_TIME_LIMIT_EXCEEDED,
                    f"Combined execution time of incoming requests exceeded limit of "
                    f"{round(settings['execution_seconds'] * 1000):,} milliseconds over time "
                    f"window of {_seconds(settings['window'])} seconds. Decrease number of "
                    "concurrent requests or reduce the duration of requests and try again later.",
                    self._time_until_under(user, now), block=True)
            user.in_flight += 1
            return Ticket(user_id, now)

    def finish(self, ticket: Ticket) -> list[tuple[str, str]]:
        """The admitted request was answered: add its execution time; return the headers."""
        now = self._clock()
        with self._lock:
            user = self._users[ticket.user_id]
            user.in_flight = max(0, user.in_flight - 1)
            if not self._settings["enabled"]:
                return []
            seconds = max(0.0, now - ticket.started)
            user.executions.append((now, seconds))
            user.execution_total += seconds
            return self._headers(user, now)

    def snapshot(self) -> dict:
        """Settings and every user's windows, for the control endpoint."""
        now = self._clock()
        with self._lock:
            users = {}
            for user_id, user in self._users.items():
                self._slide(user, now)
                users[user_id] = {
                    "requests_in_window": len(user.arrivals),
                    "execution_seconds_in_window": round(user.execution_total, 3),
                    "in_flight": user.in_flight,
                    "blocked_for": round(max(0.0, user.blocked_until - now), 3),
                    "throttled": user.throttled,
                    "early": user.early,
                }
            return {"settings": dict(self._settings), "users": users,
                    "throttled": sum(u["throttled"] for u in users.values()),
                    "early": sum(u["early"] for u in users.values())}

    # -- internals (lock held) -----------------------------------------------------------------

    def _slide(self, user: _User, now: float) -> None:
        start = now - self._settings["window"]
        while user.arrivals and user.arrivals[0] <= start:
            user.arrivals.popleft()
        while user.executions and user.executions[0][0] <= start:
            _, seconds = user.executions.popleft()
            user.execution_total -= seconds
        if not user.executions:
            user.execution_total = 0.0  # no float drift left behind

    def _time_until_under(self, user: _User, now: float) -> float:
        """Seconds until the window's execution time is below the limit again."""
        total = user.execution_total
        for ended, seconds in user.executions:
            total -= seconds
            if total < self._settings["execution_seconds"]:
                return ended + self._settings["window"] - now
        return self._settings["window"]

    def _refuse(self, user: _User, now: float, code: str, message: str, wait: float, *,
                block: bool) -> DataverseError:
        retry_after = max(1, math.ceil(wait))
        if block:
            # Nothing gets through before the announced time, so a client that waits exactly
            # Retry-After is never refused again for the same reason.
            user.blocked_until = now + retry_after
            user.blocked_code, user.blocked_message = code, message
        user.throttled += 1
        return DataverseError(429, code, message,
                              [("Retry-After", str(retry_after)), *self._headers(user, now)])

    def _headers(self, user: _User, now: float) -> list[tuple[str, str]]:
        self._slide(user, now)
        settings = self._settings
        requests_left = max(0, settings["requests"] - len(user.arrivals))
        seconds_left = max(0.0, settings["execution_seconds"] - user.execution_total)
        return [(REQUESTS_HEADER, str(requests_left)), (TIME_HEADER, f"{seconds_left:,.2f}")]


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
