"""What is left of Dataverse's service protection budget, as the server last reported it.

Dataverse limits each user, per web server, in a sliding 5-minute window: 6,000 requests and
20 minutes (1,200 s) of combined execution time by default ("these limits can change and might
vary between different environments"), and 52 concurrent requests. Every Web API answer says
what is left in two headers, which `Budget.observe()` reads:

- `x-ms-ratelimit-burst-remaining-xrm-requests`: requests left (`5999`);
- `x-ms-ratelimit-time-remaining-xrm-requests`: execution seconds left (`1,199.46`).

Past a limit the answer is 429 with `Retry-After`: `Budget.hold()` then keeps every request of
this client (all threads) from being sent before that moment, because Microsoft warns that
requests sent during the wait extend it.

Microsoft calls the headers "intended for debugging"; the portal uses them only to pace its own
background work, never to decide that a request may be sent (the server decides that).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import DynamicsError

REQUESTS_REMAINING_HEADER = "x-ms-ratelimit-burst-remaining-xrm-requests"
TIME_REMAINING_HEADER = "x-ms-ratelimit-time-remaining-xrm-requests"


@dataclass(frozen=True)
class BudgetReading:
    """One client's view of the budget at `taken_at`.

    `requests_remaining` / `seconds_remaining`: the latest headers (None until an answer carried
    them), as of `observed_at`. `retry_at`: when the server's latest Retry-After ends (None when
    it never asked to wait). `requests_sent`: requests this client sent, every attempt counted.
    """

    requests_remaining: int | None
    seconds_remaining: float | None
    observed_at: datetime | None
    retry_at: datetime | None
    requests_sent: int
    taken_at: datetime

    @property
    def waiting(self) -> bool:
        """True while the server's Retry-After has not ended."""
        return self.retry_at is not None and self.retry_at > self.taken_at


def parse_requests_remaining(value: str | None) -> int | None:
    """`5999` -> 5999; None when absent or not a whole number."""
    if value is None:
        return None
    try:
        number = int(value.strip().replace(",", ""))
    except ValueError:
        return None
    return number if number >= 0 else None


def parse_seconds_remaining(value: str | None) -> float | None:
    """`1,199.46` (Dataverse groups thousands) -> 1199.46; None when absent or malformed."""
    if value is None:
        return None
    try:
        number = float(value.strip().replace(",", ""))
    except ValueError:
        return None
    return number if number >= 0 else None


class Budget:
    """The latest budget headers and the server's hold on this client; thread-safe.

    `clock` is monotonic (waits are measured with it); `now` gives the wall-clock time that
    readings and `retry_at` are stated in. `listen(callback, every=s)` has `callback(reading)`
    called at most every `s` seconds as answers come in, and at once when the server asks to
    wait (the portal stores readings through it); the callback runs outside the lock, in the
    thread that got the answer.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._requests_remaining: int | None = None
        self._seconds_remaining: float | None = None
        self._observed_at: datetime | None = None
        self._hold_until: float | None = None  # monotonic
        self._hold_error: DynamicsError | None = None
        self._requests_sent = 0
        self._listener: Callable[[BudgetReading], None] | None = None
        self._every = 0.0
        self._last_told: float | None = None

    def listen(self, callback: Callable[[BudgetReading], None], *, every: float) -> None:
        self._listener, self._every = callback, every

    def reading(self) -> BudgetReading:
        with self._lock:
            return self._reading()

    def count_request(self) -> None:
        with self._lock:
            self._requests_sent += 1

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the budget headers of one answer (any status); absent or malformed ones keep
        the previous value."""
        requests_left = parse_requests_remaining(headers.get(REQUESTS_REMAINING_HEADER))
        seconds_left = parse_seconds_remaining(headers.get(TIME_REMAINING_HEADER))
        if requests_left is None and seconds_left is None:
            return
        with self._lock:
            if requests_left is not None:
                self._requests_remaining = requests_left
            if seconds_left is not None:
                self._seconds_remaining = seconds_left
            self._observed_at = self._now()
            due = self._last_told is None or self._clock() - self._last_told >= self._every
        if due:
            self._tell()

    def hold(self, seconds: float, error: DynamicsError | None = None) -> None:
        """The server asked to wait `seconds` (Retry-After): send nothing before then.

        `error` is the 429 that asked, kept to explain a request refused while the hold lasts.
        A shorter hold never cuts a longer one short.
        """
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            if self._hold_until is None or until > self._hold_until:
                self._hold_until = until
                self._hold_error = error
        self._tell()

    def hold_until(self, moment: datetime) -> None:
        """Seed the hold from a wait stored earlier (another client of the same connection)."""
        seconds = (moment - self._now()).total_seconds()
        if seconds > 0:
            with self._lock:
                until = self._clock() + seconds
                if self._hold_until is None or until > self._hold_until:
                    self._hold_until = until

    def wait_left(self) -> tuple[float, DynamicsError | None]:
        """Seconds until the hold ends (0 when there is none), and the error that set it."""
        with self._lock:
            if self._hold_until is None:
                return 0.0, None
            return max(0.0, self._hold_until - self._clock()), self._hold_error

    def flush(self) -> None:
        """Tell the listener the current reading now (when the client closes)."""
        self._tell()

    def _tell(self) -> None:
        listener = self._listener
        if listener is None:
            return
        with self._lock:
            self._last_told = self._clock()
            reading = self._reading()
        listener(reading)

    def _reading(self) -> BudgetReading:
        now = self._now()
        retry_at = None
        if self._hold_until is not None:
            retry_at = now + timedelta(seconds=self._hold_until - self._clock())
        return BudgetReading(
            requests_remaining=self._requests_remaining,
            seconds_remaining=self._seconds_remaining,
            observed_at=self._observed_at,
            retry_at=retry_at,
            requests_sent=self._requests_sent,
            taken_at=now,
        )
