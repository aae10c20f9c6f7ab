"""Mapping of HTTP answers to the client's typed errors, and how those errors print."""

import json

import pytest

from dynamics import (
    ApiError,
    AuthError,
    ChangeTrackingUnsupported,
    ConnectError,
    DeltaTokenExpired,
    DuplicateRecord,
    DynamicsError,
    MissingObjectError,
    NotFound,
    PrivilegeError,
    Throttled,
    ValidationFailed,
)
from dynamics.errors import error_from_response, parse_retry_after, table_from_url
from tests.dynamics.client_fakes import API

ROW = "0f8fad5b-d9cb-469f-a165-70867728950e"


def _error(status, code="", message="boom", url=f"{API}accounts", **kw):
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return error_from_response(status=status, body=body, headers={}, url=url, **kw)


@pytest.mark.parametrize(
    ("status", "code", "url", "expected", "kind", "retryable"),
    [
        (401, "0x80040220", f"{API}accounts", AuthError, "auth", False),
        (403, "0x80040220", f"{API}opportunities", PrivilegeError, "privilege", False),
        (403, "0x8004a110", f"{API}tasks", PrivilegeError, "privilege", False),
        (400, "0x80040220", f"{API}tasks", PrivilegeError, "privilege", False),
        (404, "0x80040217", f"{API}accounts({ROW})", NotFound, "missing", False),
        (404, "0x80060888", f"{API}li_inmails", MissingObjectError, "missing", False),
        (404, "", f"{API}li_inmails", MissingObjectError, "missing", False),
        (
            404,
            "0x80040217",
            f"{API}EntityDefinitions(LogicalName='li_inmail')",
            MissingObjectError,
            "missing",
            False,
        ),
        (412, "0x80040237", f"{API}tasks", DuplicateRecord, "api", False),
        (400, "0x80044331", f"{API}tasks", ValidationFailed, "api", False),
        (429, "0x80072322", f"{API}accounts", Throttled, "api", True),
        (500, "", f"{API}accounts", ApiError, "api", True),
        (503, "", f"{API}accounts", ApiError, "api", True),
        (501, "", f"{API}accounts", ApiError, "api", False),
        (405, "", f"{API}accounts", ApiError, "api", False),
    ],
)
def test_it_maps_status_and_code_to_a_typed_error(status, code, url, expected, kind, retryable):
    error = _error(status, code, url=url)
    assert type(error) is expected
    assert error.kind == kind
    assert error.retryable is retryable
    assert error.status == status
    assert error.code == (code or None)


def test_it_recognises_a_create_only_upsert_conflict_without_a_code():
    error = _error(
        412,
        "",
        "A record with matching key values already exists.",
        url=f"{API}tasks({ROW})",
        request_headers={"If-None-Match": "*"},
    )
    assert isinstance(error, DuplicateRecord)


def test_it_keeps_a_concurrency_mismatch_apart_from_duplicates():
    error = _error(412, "0x80060882", "The version of the existing record doesn't match")
    assert type(error) is ApiError


def test_it_recognises_an_expired_delta_token():
    url = f"{API}accounts?$select=name&$deltatoken=919042%2108%2f22%2f2017"
    expired = _error(400, "0x80044352", "Version stamp expired", url=url)
    assert isinstance(expired, DeltaTokenExpired)
    assert isinstance(_error(410, "", "Gone", url=url), DeltaTokenExpired)
    assert isinstance(_error(400, "", "The delta token is invalid.", url=url), DeltaTokenExpired)


def test_it_recognises_a_table_without_change_tracking():
    error = _error(
        400,
        "0x80072491",
        "Entity account isn't enabled for change tracking.",
        url=f"{API}accounts?$select=name",
        request_headers={"Prefer": "odata.maxpagesize=5000,odata.track-changes"},
    )
    assert isinstance(error, ChangeTrackingUnsupported)
    assert error.table == "accounts"


def test_a_filter_refused_under_change_tracking_is_a_plain_validation_error():
    error = _error(
        400,
        "0x80060888",
        'The "$filter" query parameter isn\'t supported when Change Tracking is enabled',
        request_headers={"Prefer": "odata.track-changes"},
    )
    assert type(error) is ValidationFailed


def test_a_non_json_error_body_is_described_not_parsed():
    error = error_from_response(
        status=502,
        body=b"<html><body>Bad gateway</body></html>",
        headers={"Content-Type": "text/html"},
        url=f"{API}accounts",
    )
    assert type(error) is ApiError
    assert error.retryable
    assert "HTTP 502 with non-JSON body (text/html" in error.message


def test_retry_after_is_read_from_the_answer():
    error = error_from_response(
        status=429, body=b"", headers={"Retry-After": "17"}, url=f"{API}accounts"
    )
    assert error.retry_after == 17


def test_str_is_one_line_with_status_code_table_and_short_url():
    message = "The user does not hold the necessary privileges.\nprvReadOpportunity"
    url = f"{API}opportunities?$select=name&$skiptoken=%3Ccookie%20pagenumber=%222%22%3E"
    error = _error(403, "0x80040220", message, url=url, method="GET")
    text = str(error)
    assert "\n" not in text
    assert text.startswith("The user does not hold the necessary privileges. prvReadOpportunity")
    assert "HTTP 403" in text
    assert "code 0x80040220" in text
    assert "table opportunities" in text
    assert f"GET {API}opportunities?$select=name&$skiptoken=…" in text


def test_every_error_is_a_dynamics_error():
    for cls in (ConnectError, ApiError, PrivilegeError, MissingObjectError, AuthError, NotFound):
        assert issubclass(cls, DynamicsError)
    assert ConnectError("x").retryable is True
    assert ConnectError("x").kind == "connect"


@pytest.mark.parametrize(
    ("url", "table"),
    [
        (f"{API}accounts?$select=name", "accounts"),
        (f"{API}accounts({ROW})", "accounts"),
        (f"{API}EntityDefinitions(LogicalName='li_inmail')/Attributes", "li_inmail"),
        (f"{API}$batch", None),
        (f"{API}WhoAmI", None),
        ("https://login.example.test/tenant/oauth2/v2.0/token", None),
    ],
)
def test_it_names_the_table_from_the_url(url, table):
    assert table_from_url(url) == table


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("5") == 5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
