"""Typed errors for everything that can go wrong while talking to Dynamics 365.

Every exception the client raises is a `DynamicsError`. Callers branch on the class (or on
`.kind`, which is what the portal shows an admin) and on `.retryable` (whether trying again later
can help). `str(error)` is one line an admin can pass on: what failed, the HTTP status, the
Dataverse error code, the table and the URL.

`error_from_response()` turns an HTTP error answer into the right class. Dataverse's error body is
`{"error": {"code": "0x...", "message": "..."}}`; the code "is not related to the HTTP status
code and is frequently empty", so both are looked at.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypedDict
from urllib.parse import unquote, urlsplit

# Dataverse error codes we act on (Microsoft's "Web service error codes" reference).
PRIVILEGE_DENIED = "0x80040220"
PRINCIPAL_PRIVILEGE_DENIED = "0x80040231"
ACCESS_DENIED = "0x80048405"
CANNOT_ACT_ON_BEHALF = "0x8004a110"
OBJECT_DOES_NOT_EXIST = "0x80040217"
DUPLICATE_RECORD = "0x80040237"
DUPLICATE_RECORD_ENTITY_KEY = "0x80060892"
VALIDATION_ERROR = "0x80044331"
EXPIRED_VERSION_STAMP = "0x80044352"
CHANGE_TRACKING_NOT_ENABLED = "0x80072491"
# Service protection (api-limits.md): the Web API sends the hex code, the SDK the decimal one.
REQUEST_LIMIT_EXCEEDED = "0x80072322"  # -2147015902: number of requests
EXECUTION_TIME_LIMIT_EXCEEDED = "0x80072321"  # -2147015903: combined execution time
CONCURRENCY_LIMIT_EXCEEDED = "0x80072326"  # -2147015898: concurrent requests
SERVICE_PROTECTION_LIMITS = {
    REQUEST_LIMIT_EXCEEDED: "number of requests",
    EXECUTION_TIME_LIMIT_EXCEEDED: "combined execution time",
    CONCURRENCY_LIMIT_EXCEEDED: "concurrent requests",
}

_PRIVILEGE_CODES = {
    PRIVILEGE_DENIED,
    PRINCIPAL_PRIVILEGE_DENIED,
    ACCESS_DENIED,
    CANNOT_ACT_ON_BEHALF,
}
_DUPLICATE_CODES = {DUPLICATE_RECORD, DUPLICATE_RECORD_ENTITY_KEY}

# Long opaque query values (paging cookies, delta tokens) make a message unreadable; they are
# shortened in str(error). They are not secrets: access tokens never travel in URLs.
_OPAQUE_QUERY_VALUE = re.compile(r"(\$(?:skiptoken|deltatoken)=)[^&]*", re.IGNORECASE)
_ROW_SEGMENT = re.compile(
    r"\(\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?\)$"
)


class DynamicsError(Exception):
    """Base class of every error the Dynamics client raises.

    Attributes: `kind` ("connect", "api", "privilege", "missing", "auth"), `retryable`,
    `status` (HTTP status or None), `code` (Dataverse hex code or None), `message`, `url`,
    `table` (entity set or logical name when known), `retry_after` (seconds the server asked
    us to wait, if it did), `retry_at` (the UTC moment that wait ends, set when the client gave
    up before it) and `attempts` (how many times the request was sent).
    """

    kind = "api"
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        url: str | None = None,
        table: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        method: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or None
        self.url = url
        self.table = table
        self.method = method
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.retry_at: datetime | None = None
        self.attempts = 1

    def __str__(self) -> str:
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code:
            details.append(f"code {self.code}")
        if self.table:
            details.append(f"table {self.table}")
        if self.url:
            target = short_url(self.url)
            details.append(f"{self.method} {target}" if self.method else target)
        text = " ".join(self.message.split())
        if self.retry_at is not None:
            text += f" {retry_note(self.retry_at, self.retry_after)}"
        return f"{text} [{', '.join(details)}]" if details else text


class ConnectError(DynamicsError):
    """Dynamics could not be reached: refused, DNS, TLS, timeout or a dropped connection."""

    kind = "connect"
    default_retryable = True


class ApiError(DynamicsError):
    """Dynamics answered with an error that has no more specific class (5xx, 429, odd 4xx)."""

    kind = "api"


class Throttled(ApiError):
    """Dynamics' service protection refused us (429) for longer than this call could wait.

    Retryable, but not before `retry_at` (also `retry_after`, seconds from when it was raised):
    Microsoft warns that requests sent during the wait extend it. `limit` names the limit hit
    when the code says ("number of requests", "combined execution time", "concurrent requests").
    """

    default_retryable = True

    @property
    def limit(self) -> str | None:
        return SERVICE_PROTECTION_LIMITS.get(self.code or "")


class MalformedResponse(ApiError):
    """Dynamics (or something in front of it) answered with a body we cannot use.

    For example an HTML error page with status 200, truncated JSON, or a collection without
    `value`. The message says which URL and what was wrong.
    """

    default_retryable = True


class PrivilegeError(DynamicsError):
    """The user (or the impersonated user) lacks a Dataverse privilege: not worth retrying."""

    kind = "privilege"


class MissingObjectError(DynamicsError):
    """A table, entity set or metadata object does not exist in this org."""

    kind = "missing"


class NotFound(DynamicsError):
    """A single row does not exist (GET, update or delete of an absent row)."""

    kind = "missing"


class AuthError(DynamicsError):
    """Signing in or getting a token failed, or Dynamics refused the token after a refresh."""

    kind = "auth"


class EnvironmentUrlRefused(AuthError):
    """The environment URL is not one the portal may send a bearer token to.

    Raised before any request (by ``environment_origin``, so by the client and the sign-in when
    they are built). An AuthError because the remedy is the same: an admin connects again, this
    time with the environment's real address. ``message`` is written for that admin.
    """


class DuplicateRecord(ApiError):
    """A row with this primary key (or alternate key) already exists."""


class ValidationFailed(ApiError):
    """Dynamics refused the request as invalid (HTTP 400): bad value, query or state."""


class ChangeTrackingError(ValidationFailed):
    """A change-tracking read cannot continue; the caller should fall back to a full read."""


class DeltaTokenExpired(ChangeTrackingError):
    """The saved delta link is expired or unknown to the server (ExpiredVersionStamp)."""


class ChangeTrackingUnsupported(ChangeTrackingError):
    """The table does not have change tracking enabled."""


def retry_note(retry_at: datetime, retry_after: float | None = None) -> str:
    """The sentence messages end with: Try again after 14:05:09 UTC (in 240 s)."""
    note = f"Try again after {retry_at.astimezone(UTC):%H:%M:%S} UTC"
    if retry_after is not None:
        note += f" (in {math.ceil(retry_after)} s)"
    return note + "."


def short_url(url: str) -> str:
    """Return `url` with paging cookies and delta tokens shortened, for messages."""
    return _OPAQUE_QUERY_VALUE.sub(r"\1…", url)


def table_from_url(url: str) -> str | None:
    """Guess the table an API URL is about: the entity set, or the LogicalName in metadata URLs.

    `.../api/data/v9.2/accounts(…)?…` gives "accounts";
    `.../EntityDefinitions(LogicalName='li_inmail')/Attributes` gives "li_inmail".
    """
    path = unquote(urlsplit(url).path)
    marker = "/api/data/"
    if marker not in path:
        return None
    rest = path.split(marker, 1)[1]
    segments = rest.split("/")[1:]  # drop the version segment ("v9.2")
    if not segments or not segments[0]:
        return None
    first = segments[0]
    match = re.match(r"EntityDefinitions\(LogicalName='([^']*)'\)", first)
    if match:
        return match.group(1)
    name = first.split("(", 1)[0]
    if not name or name.startswith("$") or name in {"EntityDefinitions", "WhoAmI"}:
        return None
    return name


def parse_error_body(body: bytes) -> tuple[str | None, str | None]:
    """Return (code, message) from a Dataverse/OData error body, or (None, None)."""
    if not body:
        return None, None
    try:
        data = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    error = data.get("error")
    if not isinstance(error, dict):
        return None, None
    code = error.get("code")
    message = error.get("message")
    return (
        str(code) if code not in (None, "") else None,
        str(message) if message not in (None, "") else None,
    )


def _describe_non_json(body: bytes, content_type: str) -> str:
    kind = content_type.split(";", 1)[0].strip() or "no content type"
    if not body:
        return "empty body"
    return f"non-JSON body ({kind}, {len(body)} bytes)"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (Dataverse sends whole seconds), or None."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        # The HTTP-date form is allowed by RFC 9110 but Dataverse does not use it.
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds)


class _ResponseFacts(TypedDict):
    """What every error built from one HTTP answer carries (the keyword arguments they share)."""

    status: int
    code: str | None
    url: str
    table: str | None
    method: str


def error_from_response(
    *,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    method: str = "GET",
    table: str | None = None,
    request_headers: Mapping[str, str] | None = None,
) -> DynamicsError:
    """Build the typed error for an HTTP error answer.

    Mapping (first match wins):
    1. 401 -> AuthError.
    2. 403, or a privilege code at any status -> PrivilegeError.
    3. DuplicateRecord codes, or 412 to a create-only upsert (If-None-Match: *) -> DuplicateRecord.
    4. Change tracking: ExpiredVersionStamp, or 400/410 on a delta link -> DeltaTokenExpired;
       "not enabled for change tracking" -> ChangeTrackingUnsupported.
    5. 404: a single row URL with ObjectDoesNotExist -> NotFound; otherwise (unknown entity set,
       metadata) -> MissingObjectError. ObjectDoesNotExist on metadata -> MissingObjectError.
    6. 400 -> ValidationFailed.
    7. 429 -> Throttled (retryable; the transport sets when to retry if it gives up).
    8. Everything else -> ApiError; 5xx (but 501) are retryable.
    """
    request_headers = {k.lower(): v for k, v in (request_headers or {}).items()}
    headers = {k.lower(): v for k, v in headers.items()}
    content_type = headers.get("content-type", "")
    code, message = parse_error_body(body)
    code = code.lower() if code and code.lower().startswith("0x") else code
    if message is None and status == 401:
        message = "Dynamics refused the access token"  # Dataverse sends 401 with no body
    if message is None:
        message = f"HTTP {status} with {_describe_non_json(body, content_type)}"
    table = table or table_from_url(url)
    retry_after = parse_retry_after(headers.get("retry-after"))
    common = _ResponseFacts(status=status, code=code, url=url, table=table, method=method)
    is_metadata = "/EntityDefinitions" in url or "/$metadata" in url
    has_delta_token = "$deltatoken=" in url or "%24deltatoken=" in url
    asked_track_changes = "odata.track-changes" in request_headers.get("prefer", "")
    lowered = message.lower()

    if status == 401:
        return AuthError(message, **common)
    if status == 403 or code in _PRIVILEGE_CODES:
        return PrivilegeError(message, **common)
    if code in _DUPLICATE_CODES or (
        status == 412
        and (request_headers.get("if-none-match") == "*" or "already exists" in lowered)
    ):
        return DuplicateRecord(message, **common)
    if has_delta_token or asked_track_changes:
        if code == EXPIRED_VERSION_STAMP or (
            has_delta_token
            and (status == 410 or (status == 400 and _mentions_expired_token(lowered)))
        ):
            return DeltaTokenExpired(message, **common)
        if code == CHANGE_TRACKING_NOT_ENABLED or _mentions_tracking_disabled(lowered):
            return ChangeTrackingUnsupported(message, **common)
    if status == 404 or (is_metadata and code == OBJECT_DOES_NOT_EXIST):
        addresses_one_row = not is_metadata and _ROW_SEGMENT.search(urlsplit(url).path)
        if (
            addresses_one_row
            and code in (OBJECT_DOES_NOT_EXIST, None)
            and "resource not found for the segment" not in lowered
        ):
            return NotFound(message, **common)
        return MissingObjectError(message, **common)
    if status == 400:
        return ValidationFailed(message, **common)
    if status == 429:
        return Throttled(message, retry_after=retry_after, **common)
    retryable = status >= 500 and status != 501
    return ApiError(message, retryable=retryable, retry_after=retry_after, **common)


def _mentions_expired_token(message: str) -> bool:
    return any(
        phrase in message
        for phrase in ("version stamp", "delta token", "deltatoken", "expired", "full sync")
    )


def _mentions_tracking_disabled(message: str) -> bool:
    return bool(
        re.search(r"(not|n't) enabled for change tracking", message)
        or "change tracking is not enabled" in message
        or "change tracking isn't enabled" in message
    )
