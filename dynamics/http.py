"""HTTP plumbing: the session, the request loop with retries, counters and JSON parsing.

`Transport.send()` is the one place where the client sends a request to the Web API. It adds the
headers Dataverse documents for every request, gets a bearer token, retries what can get better
(429 and 503 after Retry-After, other 5xx and connection failures with exponential backoff and full
jitter, one 401 after a forced token refresh), never retries other 4xx, and counts requests,
retries, throttled waits and bytes. It reads the service protection headers of every answer into
the client's `Budget`.

The Retry-After rule: nothing is sent before the server's Retry-After ends. A 429 holds every
request of the client (all threads: the limit is the user's) until then; a call waits for it
when the wait fits its policy (`max_retry_after`, and the call's `budget`), and otherwise ends at
once with a retryable error carrying `retry_at`: `Throttled` for a 429 (also when the hold of an
earlier 429 has not ended, without sending anything), the 503's own error for a 503.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeAlias, TypeVar, overload

import requests
import urllib3

from .budget import Budget
from .errors import (
    ConnectError,
    DynamicsError,
    MalformedResponse,
    Throttled,
    error_from_response,
)

# A JSON object as Dataverse sends and takes it (a row, an EntityDefinition, an error body):
# the values are whatever JSON holds, and every reader checks the fields it uses.
JsonObject: TypeAlias = dict[str, Any]

# requests' timeout: seconds for the whole exchange, or (connect, read) seconds.
Timeout: TypeAlias = float | tuple[float, float]

DEFAULT_SESSION_TIMEOUT: Timeout = (5, 60)

_Error = TypeVar("_Error", bound=DynamicsError)
_Parsed = TypeVar("_Parsed")


class DynamicsSession(requests.Session):
    """A requests session that keeps an explicit CA bundle and a default timeout.

    requests lets the REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE environment variables override
    `Session.verify` (psf/requests#3829): `merge_environment_settings()` replaces a request-level
    `verify` of True/None with the variable *before* falling back to the session's value. This
    machine (and CI) sets those variables, so a session with `verify="emulator-ca.pem"` would still
    verify against the system bundle and fail. Passing `verify` explicitly on each request is the
    one form the environment cannot override, so `request()` does that whenever a CA bundle was
    given. Proxies from the environment keep working (we do not turn off `trust_env`).

    msal also sends its requests through this session (it is passed as msal's `http_client`), and
    msal sets no timeout when given a client, hence the default timeout.
    """

    def __init__(
        self, *, ca_bundle: str | None = None, default_timeout: Timeout = DEFAULT_SESSION_TIMEOUT
    ):
        super().__init__()
        self.ca_bundle = ca_bundle
        self.default_timeout = default_timeout
        if ca_bundle:
            self.verify = ca_bundle

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if self.ca_bundle and kwargs.get("verify") in (None, True):
            kwargs["verify"] = self.ca_bundle
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


def make_session(*, ca_bundle: str | None = None, pool_size: int = 10) -> requests.Session:
    """Return the session one client uses for the Web API and (through msal) for sign-in.

    `ca_bundle` is a PEM file to trust instead of the system store (the emulator's CA);
    `pool_size` is how many keep-alive connections per host the session holds.
    """
    session = DynamicsSession(ca_bundle=ca_bundle)
    adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try.

    `max_attempts`: sends per call, the first included. `base_delay`/`max_delay`: exponential
    backoff for 5xx and connection errors (full jitter: a random wait between 0 and
    min(max_delay, base_delay * 2**retry)). `max_retry_after`: the longest wait for a server's
    Retry-After (429, 503) this call can afford; a longer one is never cut short, the call ends
    instead with an error saying when to try again. `budget`: total seconds one call may spend,
    waits included; a retry that would end past the budget is not attempted.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    budget: float = 300.0


@dataclass
class Stats:
    """Counters of one client.

    `requests`: HTTP requests sent to the Web API (every attempt; msal's token requests are not
    counted). `retries`: re-sends. `throttled`: waits for 429 / 503 Retry-After.
    `bytes_received` / `bytes_sent`: body bytes (decompressed), headers not included.
    """

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    # Several threads may share one client (the import reads two tables at once).
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def reset(self) -> None:
        with self._lock:
            for counter in fields(self):
                if not counter.name.startswith("_"):
                    setattr(self, counter.name, 0)


class TokenSource(Protocol):
    """What the transport needs from an auth object (MsalAuth, StaticTokenAuth)."""

    def access_token(self, *, force_refresh: bool = False) -> str: ...


@dataclass
class Reply:
    """A successful (or deliberately accepted) HTTP answer."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    url: str
    attempts: int

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


# Headers the compose-http-requests doc asks for on every Web API request. "If-None-Match: null"
# stops the browser-style cache from answering 304 when a request has no conditions of its own.
BASE_HEADERS = {
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "If-None-Match": "null",
}


class Transport:
    """Sends Web API requests with auth, retries and counters. One per DynamicsClient."""

    def __init__(
        self,
        *,
        session: requests.Session,
        auth: TokenSource,
        timeout: Timeout,
        retry: RetryPolicy,
        stats: Stats,
        budget: Budget | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        self.session = session
        self.auth = auth
        self.timeout = timeout
        self.retry = retry
        self.stats = stats
        self.budget = budget or Budget(clock=clock)
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()

    @overload
    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        table: str | None = None,
        idempotent: bool = True,
        accept: Callable[[requests.Response], bool] | None = None,
        parse: Callable[[Reply], _Parsed],
    ) -> _Parsed: ...

    @overload
    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        table: str | None = None,
        idempotent: bool = True,
        accept: Callable[[requests.Response], bool] | None = None,
        parse: None = None,
    ) -> Reply: ...

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        table: str | None = None,
        idempotent: bool = True,
        accept: Callable[[requests.Response], bool] | None = None,
        parse: Callable[[Reply], _Parsed] | None = None,
    ) -> _Parsed | Reply:
        """Send one request, retrying as the policy allows; return `parse(reply)` or the Reply.

        `idempotent=False` (a POST that creates a row without a client-chosen id) is retried only
        when the server certainly did not act on it: 429, or a connection that was never made.
        `accept(response)` lets a caller take a non-2xx answer itself (a failed $batch still has a
        multipart body). `parse` runs inside the loop so that a malformed answer to a GET is
        retried like a 5xx; for other methods a malformed answer is raised at once.
        """
        request_headers = dict(BASE_HEADERS)
        if body is not None:
            request_headers["Content-Type"] = "application/json; charset=utf-8"
        request_headers.update(headers or {})
        started = self.clock()
        attempt = 0
        refreshed_after_401 = False
        refresh_now = False
        while True:
            self._await_hold(started, method=method, url=url, table=table, sent=attempt)
            attempt += 1
            error: DynamicsError
            try:
                force_refresh, refresh_now = refresh_now, False
                response = self._send_once(
                    method, url, request_headers, body, force_refresh=force_refresh
                )
            except requests.RequestException as exc:
                error = connect_error(exc, url=url, method=method, table=table)
                if not idempotent and not _never_sent(exc):
                    error.retryable = False
            except DynamicsError as exc:  # from the token source
                error = exc
            else:
                if response.status_code == 401 and not refreshed_after_401:
                    # The access token expired or was revoked after our cache said it was good:
                    # force a refresh and send once more (not counted against max_attempts).
                    refreshed_after_401 = refresh_now = True
                    attempt -= 1
                    self.stats.add(retries=1)
                    continue
                if response.ok or (accept is not None and accept(response)):
                    reply = Reply(
                        response.status_code, response.headers, response.content, url, attempt
                    )
                    if parse is None:
                        return reply
                    try:
                        return parse(reply)
                    except MalformedResponse as exc:
                        exc.method, exc.table = exc.method or method, exc.table or table
                        if method != "GET":  # only reads are safe to repeat blindly
                            exc.attempts = attempt
                            raise
                        error = exc
                else:
                    error = error_from_response(
                        status=response.status_code,
                        body=response.content,
                        headers=response.headers,
                        url=url,
                        method=method,
                        table=table,
                        request_headers=request_headers,
                    )
                    if not idempotent and response.status_code != 429:
                        error.retryable = False
            error.attempts = attempt
            self._wait_or_raise(error, attempt, started)

    def _send_once(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        *,
        force_refresh: bool,
    ) -> requests.Response:
        """One HTTP exchange with a fresh bearer token; counts it and reads the whole body."""
        token = self.auth.access_token(force_refresh=force_refresh)
        headers["Authorization"] = f"Bearer {token}"
        self.stats.add(requests=1, bytes_sent=len(body or b""))
        self.budget.count_request()
        response = self.session.request(
            method, url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
        )
        self.budget.observe(response.headers)
        # Reading the body here (not lazily) makes a connection cut mid-body a RequestException
        # of this attempt, so it is retried like any dropped connection.
        self.stats.add(bytes_received=len(response.content))
        return response

    def _await_hold(
        self, started: float, *, method: str, url: str, table: str | None, sent: int
    ) -> None:
        """Wait out the server's hold on this client (a 429's Retry-After), or raise Throttled.

        The hold may come from this call's last answer or from another call (another thread):
        either way nothing is sent before it ends. A hold longer than the call can afford ends
        the call now, unsent.
        """
        while True:
            wait, cause = self.budget.wait_left()
            if wait <= 0:
                return
            if wait > self.retry.max_retry_after or (
                self.clock() - started + wait > self.retry.budget
            ):
                raise self._unsent(wait, cause, method=method, url=url, table=table, sent=sent)
            self.stats.add(throttled=1)
            self.sleep(wait)

    def _unsent(
        self,
        wait: float,
        cause: DynamicsError | None,
        *,
        method: str,
        url: str,
        table: str | None,
        sent: int,
    ) -> Throttled:
        why = f": {cause.message}" if cause is not None else "."
        error = Throttled(
            f"Not sent: Dynamics asked this connection to wait before sending more{why}",
            code=cause.code if cause is not None else None,
            url=url,
            method=method,
            table=table,
        )
        error.attempts = sent
        return _retry_later(error, wait)

    def _wait_or_raise(self, error: DynamicsError, attempt: int, started: float) -> None:
        """Sleep before the next attempt, or raise `error` when retrying cannot or may not help.

        A server's Retry-After (429, 503) is never cut short: when the call cannot afford it,
        the error is raised with `retry_at` set. A 429's wait also holds the client's other calls.
        """
        server_wait = error.retry_after if error.status in (429, 503) else None
        if error.status == 429 and server_wait is not None:
            self.budget.hold(server_wait, error)
        if not error.retryable or attempt >= self.retry.max_attempts:
            raise _retry_later(error, server_wait)
        if server_wait is not None:
            delay, throttled = server_wait, True
        else:
            # Exponential backoff with full jitter, so that many workers that failed together do
            # not come back together.
            ceiling = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
            delay, throttled = self.rng.uniform(0, ceiling), error.status == 429
        if (server_wait is not None and server_wait > self.retry.max_retry_after) or (
            self.clock() - started + delay > self.retry.budget
        ):
            raise _retry_later(error, server_wait)
        if throttled:
            self.stats.add(throttled=1)
        self.stats.add(retries=1)
        self.sleep(delay)


def _retry_later(error: _Error, wait: float | None) -> _Error:
    """Stamp `error` with when the server allows the next try (nothing when it did not say)."""
    if wait is not None:
        error.retry_after = wait
        error.retry_at = datetime.now(UTC) + timedelta(seconds=wait)
    return error


def connect_error(
    exc: requests.RequestException, *, url: str, method: str | None = None, table: str | None = None
) -> ConnectError:
    """Map a requests exception to ConnectError; TLS verification failures are not retryable."""
    if isinstance(exc, requests.exceptions.SSLError):
        return ConnectError(
            f"TLS failure talking to Dynamics: {_first_line(exc)}",
            url=url,
            method=method,
            table=table,
            retryable=False,
        )
    if isinstance(exc, requests.Timeout):
        what = "timed out"
    elif isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.ConnectionError):
        what = "connection failed"
    else:
        what = "request failed"
    return ConnectError(
        f"Dynamics {what}: {type(exc).__name__}: {_first_line(exc)}",
        url=url,
        method=method,
        table=table,
    )


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach the server (so any method may be retried)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def parse_json(reply: Reply, *, what: str = "response") -> Any:
    """Decode a JSON body, raising MalformedResponse (naming the URL) when it is not JSON."""
    content_type = reply.content_type.split(";", 1)[0].strip().lower()
    if not reply.content:
        raise MalformedResponse(
            f"Dynamics sent an empty {what} where JSON was expected",
            status=reply.status,
            url=reply.url,
        )
    if content_type and "json" not in content_type:
        raise MalformedResponse(
            f"Dynamics sent {content_type} where JSON was expected "
            f"({len(reply.content)} bytes, starting {_snippet(reply.content)!r})",
            status=reply.status,
            url=reply.url,
        )
    try:
        return json.loads(reply.content)
    except UnicodeDecodeError as exc:
        raise MalformedResponse(
            f"Dynamics sent a {what} that is not UTF-8: {exc}", status=reply.status, url=reply.url
        ) from None
    except json.JSONDecodeError as exc:
        raise MalformedResponse(
            f"Dynamics sent invalid or truncated JSON ({exc.msg} at character {exc.pos} "
            f"of {len(reply.content)})",
            status=reply.status,
            url=reply.url,
        ) from None


def parse_json_object(reply: Reply, *, what: str = "response") -> JsonObject:
    data = parse_json(reply, what=what)
    if not isinstance(data, dict):
        raise MalformedResponse(
            f"Dynamics sent a JSON {type(data).__name__} where an object was expected",
            status=reply.status,
            url=reply.url,
        )
    return data


def _snippet(content: bytes) -> str:
    return " ".join(content[:60].decode("utf-8", "replace").split())


__all__ = [
    "DynamicsSession",
    "JsonObject",
    "RetryPolicy",
    "Stats",
    "Reply",
    "Timeout",
    "Transport",
    "make_session",
    "parse_json",
    "parse_json_object",
]
