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

from .error_codes import KNOWN_CODES
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
        if code not in KNOWN_CODES:
            raise ValueError(f"error code {code!r} is not in error_codes.py; add it there with "
                             "the page it comes from")
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


# The codes, re-exported from their one table (error_codes.py) for the modules that raise them.
from .error_codes import (  # noqa: E402
    AUTH_FAILED,
    CANNOT_ACT_ON_BEHALF,
    CHANGE_TRACKING_NOT_ENABLED,
    CONCURRENCY_LIMIT_EXCEEDED,
    DUPLICATE,
    EXECUTION_TIME_LIMIT_EXCEEDED,
    EXPIRED_VERSION_STAMP,
    INVALID_ARGUMENT,
    NO_HTTP_RESOURCE,
    NOT_FOUND,
    OPTION_OUT_OF_RANGE,
    PAYLOAD_ERROR,
    PRIVILEGE_DENIED,
    PROPERTY_NOT_FOUND,
    QUERY_ERROR,
    RESOURCE_NOT_FOUND,
    THROTTLED_REQUESTS,
    UNEXPECTED,
    UNSUPPORTED_MESSAGE,
    USER_DISABLED,
    VALIDATION,
    VERSION_MISMATCH,
)

__all__ = [
    "AUTH_FAILED", "CANNOT_ACT_ON_BEHALF", "CHANGE_TRACKING_NOT_ENABLED",
    "CONCURRENCY_LIMIT_EXCEEDED", "DUPLICATE", "EXECUTION_TIME_LIMIT_EXCEEDED",
    "EXPIRED_VERSION_STAMP", "INVALID_ARGUMENT", "NO_HTTP_RESOURCE", "NOT_FOUND",
    "OPTION_OUT_OF_RANGE", "PAYLOAD_ERROR", "PRIVILEGE_DENIED", "PROPERTY_NOT_FOUND",
    "QUERY_ERROR", "RESOURCE_NOT_FOUND", "THROTTLED_REQUESTS", "UNEXPECTED", "UNSUPPORTED_MESSAGE",
    "USER_DISABLED",
    "VALIDATION", "VERSION_MISMATCH", "DataverseError", "Request", "Response", "drop",
    "json_body", "json_page", "json_response", "odata_headers", "segment_not_found",
    "property_not_found",
]


def segment_not_found(segment: str) -> DataverseError:
    """404 for a path segment that names no entity set, function, action or property."""
    return DataverseError(404, RESOURCE_NOT_FOUND, f"Resource not found for the segment "
                          f"'{segment}'.")


def property_not_found(name: str, type_name: str) -> DataverseError:
    """400 for a `$select`/`$expand`/`$orderby` name the type does not have."""
    return DataverseError(400, PROPERTY_NOT_FOUND, f"Could not find a property named '{name}' "
                          f"on type '{type_name}'.")
