"""The emulator's own HTTP message types, independent of the socket server.

Handlers take a `Request` and return a `Response`, which keeps them testable and lets `$batch`
run its parts through the same handlers without a network round trip. A `DataverseError` raised
anywhere below a handler becomes Dataverse's error JSON: `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus

from .odata import parse_query_string

JSON_TYPE = "application/json; odata.metadata=minimal"


@dataclass
class Request:
    """One HTTP request: `path` is percent-decoded, `query_string` is raw."""

    method: str
    path: str
    query_string: str
    headers: dict[str, list[str]]  # lower-case names
    body: bytes
    base_url: str  # scheme://host:port the client used to reach us

    @functools.cached_property
    def query(self) -> dict[str, str]:
        return parse_query_string(self.query_string)

    def header(self, name: str, default: str | None = None) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else default

    def header_values(self, name: str) -> list[str]:
        return self.headers.get(name.lower(), [])

    @property
    def url(self) -> str:
        query = f"?{self.query_string}" if self.query_string else ""
        return f"{self.base_url}{self.path}{query}"

    def json(self):
        """The body as JSON (ValueError when it is not JSON)."""
        return json.loads(self.body.decode("utf-8") or "null")


@dataclass
class Response:
    """What to send back. `drop=True` tells the server to close the connection instead."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Unknown"


def json_body(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_page(head: dict, values: list, tail: dict | None = None) -> bytes:
    """A collection body `{...head, "value": [...], ...tail}` whose values may already be JSON
    text (rows built by SQLite), so that a 5,000-row page is joined, not re-encoded."""
    if any(isinstance(value, str) for value in values):
        encoded = ",".join(value if isinstance(value, str) else json.dumps(
            value, separators=(",", ":"), ensure_ascii=False) for value in values)
    else:
        encoded = json.dumps(values, separators=(",", ":"), ensure_ascii=False)[1:-1]
    opening = json_body(head)[:-1].decode("utf-8")
    opening += ',"value":[' if head else '"value":['
    closing = "]"
    for key, value in (tail or {}).items():
        closing += "," + json.dumps(key) + ":" + json.dumps(value, ensure_ascii=False)
    return (opening + encoded + closing + "}").encode("utf-8")


def json_response(status: int, value, headers: list[tuple[str, str]] | None = None,
                  content_type: str = JSON_TYPE) -> Response:
    return Response(status, json_body(value),
                    [("Content-Type", content_type), *(headers or [])])


def odata_headers() -> list[tuple[str, str]]:
    """Headers Dataverse puts on every Web API answer."""
    return [("OData-Version", "4.0"), ("REQ_ID", str(uuid.uuid4()))]


class DataverseError(Exception):
    """An error answer in Dataverse's format; raise it from any Web API code path."""

    def __init__(self, status: int, code: str, message: str,
                 headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []

    def response(self) -> Response:
        return json_response(self.status, {"error": {"code": self.code, "message": self.message}},
                             [*odata_headers(), *self.headers])


def drop() -> Response:
    """Close the connection without answering (a network failure, as far as the client sees)."""
    return Response(0, drop=True)


# Error codes (names as in Dataverse's published list, see README for the ones we chose).
QUERY_ERROR = "0x80060888"          # OData URI/query parsing, unknown segment or property
PAYLOAD_ERROR = "0x80048d19"        # "Error identified in Payload provided by the user"
NOT_FOUND = "0x80040217"            # ObjectDoesNotExist
DUPLICATE = "0x80040237"            # DuplicateRecord
VERSION_MISMATCH = "0x80060882"     # ConcurrencyVersionMismatch
VALIDATION = "0x80044331"           # attribute validation (length...)
OPTION_OUT_OF_RANGE = "0x8004431a"  # a choice value that is not one of the options
INVALID_ARGUMENT = "0x80040203"     # InvalidArgument, generic
PRIVILEGE_DENIED = "0x80040220"     # PrivilegeDenied
CANNOT_ACT_ON_BEHALF = "0x8004a110"  # CannotActOnBehalfOfAnotherUser
USER_DISABLED = "0x80040225"        # the impersonated user is disabled
AUTH_FAILED = "0x8005f101"          # AccessTokenExpired "The requested resource requires..."
THROTTLED_REQUESTS = "0x80072322"   # service protection: number of requests (-2147015902)
EXECUTION_TIME_LIMIT_EXCEEDED = "0x80072321"  # service protection: execution time (-2147015903)
CONCURRENCY_LIMIT_EXCEEDED = "0x80072326"  # service protection: concurrent requests (-2147015898)
EXPIRED_VERSION_STAMP = "0x80044352"  # change tracking token expired
UNEXPECTED = "0x80040216"           # "An unexpected error occurred."
UNSUPPORTED_MESSAGE = "0x80040800"  # "The 'X' method does not support entities of type 'y'."
