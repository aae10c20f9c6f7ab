"""The request loop: what is retried, how long it waits, and when it gives up."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from dynamics import (
    ApiError,
    AuthError,
    ConnectError,
    DuplicateRecord,
    DynamicsClient,
    NotFound,
    PrivilegeError,
    RetryPolicy,
    Throttled,
    ValidationFailed,
)
from tests.dynamics.client_fakes import ALLOWED, API, ORG, CountingAuth, FakeTime

ROW = "0f8fad5b-d9cb-469f-a165-70867728950e"
OK = {"value": [{"name": "A"}]}


def _error(code, message="boom"):
    return {"error": {"code": code, "message": message}}


def _read(client):
    return list(client.iter_rows("accounts", select="name"))


def test_429_waits_for_retry_after_then_succeeds(client, mocked, fake_time):
    mocked.add(
        "GET",
        f"{API}accounts",
        status=429,
        headers={"Retry-After": "7"},
        json=_error("0x80072322", "Number of requests exceeded the limit"),
    )
    mocked.add("GET", f"{API}accounts", json=OK)
    assert _read(client) == [{"name": "A"}]
    assert fake_time.sleeps == [7]
    assert client.stats.throttled == 1
    assert client.stats.retries == 1
    assert client.stats.requests == 2


def test_a_retry_after_longer_than_the_policy_allows_ends_the_call_unresent(
    client, mocked, fake_time
):
    mocked.add(
        "GET",
        f"{API}accounts",
        status=429,
        headers={"Retry-After": "3600"},
        json=_error("0x80072322", "Number of requests exceeded the limit"),
    )
    mocked.add("GET", f"{API}accounts", json=OK)
    before = datetime.now(UTC)
    with pytest.raises(Throttled) as caught:
        _read(client)
    assert len(mocked.calls) == 1  # not resent before the server's Retry-After
    assert fake_time.sleeps == []
    error = caught.value
    assert error.retryable
    assert error.retry_after == 3600
    assert before + timedelta(seconds=3600) <= error.retry_at
    assert error.retry_at <= datetime.now(UTC) + timedelta(seconds=3600)
    assert error.limit == "number of requests"
    assert "Try again after" in str(error) and "(in 3600 s)" in str(error)


def test_a_later_call_is_not_sent_while_the_server_asked_to_wait(client, mocked, fake_time):
    mocked.add("GET", f"{API}accounts", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(Throttled):
        _read(client)
    fake_time.now += 1800
    with pytest.raises(Throttled) as caught:
        client.whoami()
    assert len(mocked.calls) == 1  # WhoAmI was never sent
    assert caught.value.attempts == 0
    assert 1799 <= caught.value.retry_after <= 1800
    assert client.budget.reading().waiting


def test_a_short_hold_left_by_another_call_is_waited_out(client, mocked, fake_time):
    mocked.add("GET", f"{API}accounts", status=429, headers={"Retry-After": "30"})
    mocked.add("GET", f"{API}accounts", json=OK)
    mocked.add("GET", f"{API}WhoAmI", json={"UserId": ROW})
    assert _read(client) == [{"name": "A"}]
    client.budget.hold(20)  # as if another thread of this client had just been told 20 s
    client.whoami()
    assert fake_time.sleeps == [30, 20]


def test_503_with_retry_after_is_honoured(client, mocked, fake_time):
    mocked.add("GET", f"{API}accounts", status=503, headers={"Retry-After": "2"})
    mocked.add("GET", f"{API}accounts", json=OK)
    _read(client)
    assert fake_time.sleeps == [2]
    assert client.stats.throttled == 1


def test_5xx_backs_off_exponentially_with_full_jitter(client, mocked, fake_time):
    for status in (500, 502, 504):
        mocked.add("GET", f"{API}accounts", status=status, json=_error(""))
    mocked.add("GET", f"{API}accounts", json=OK)
    _read(client)
    assert len(fake_time.sleeps) == 3
    for retry, delay in enumerate(fake_time.sleeps):
        assert 0 <= delay <= 0.5 * 2**retry
    assert client.stats.throttled == 0


def test_jitter_spreads_the_waits(mocked):
    mocked.add("GET", f"{API}WhoAmI", body=requests.ConnectionError("refused"))
    delays = set()
    for _ in range(20):
        fake = FakeTime()
        client = DynamicsClient(
            ORG,
            CountingAuth(),
            retry=RetryPolicy(max_attempts=2),
            sleep=fake.sleep,
            clock=fake.clock,
            extra_allowed_hosts=ALLOWED,
        )
        with pytest.raises(ConnectError):
            client.whoami()
        delays.add(fake.sleeps[0])
    assert len(delays) > 10  # random, not a fixed schedule


def test_it_gives_up_after_max_attempts(client, mocked):
    mocked.add("GET", f"{API}accounts", status=500, json=_error("", "Generic SQL error"))
    with pytest.raises(ApiError) as caught:
        _read(client)
    assert caught.value.status == 500
    assert caught.value.retryable
    assert caught.value.attempts == 4
    assert len(mocked.calls) == 4


def test_it_gives_up_when_the_budget_would_be_exceeded(fake_time, auth, mocked):
    policy = RetryPolicy(max_attempts=10, max_retry_after=100, budget=30)
    client = DynamicsClient(
        ORG,
        auth,
        retry=policy,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        extra_allowed_hosts=ALLOWED,
    )
    mocked.add("GET", f"{API}accounts", status=429, headers={"Retry-After": "20"})
    with pytest.raises(ApiError) as caught:
        _read(client)
    assert caught.value.status == 429
    assert fake_time.sleeps == [20]  # a second 20 s wait would end past the 30 s budget
    assert len(mocked.calls) == 2


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "0x80044331", ValidationFailed),
        (403, "0x80040220", PrivilegeError),
        (404, "0x80040217", NotFound),
        (412, "0x80040237", DuplicateRecord),
    ],
)
def test_4xx_is_never_retried(client, mocked, fake_time, status, code, expected):
    mocked.add("GET", f"{API}accounts({ROW})", status=status, json=_error(code))
    with pytest.raises(expected):
        client.get_row("accounts", ROW)
    assert len(mocked.calls) == 1
    assert fake_time.sleeps == []


def test_one_401_refreshes_the_token_and_retries(client, mocked, auth):
    mocked.add("GET", f"{API}accounts", status=401, json=_error("", "token expired"))
    mocked.add("GET", f"{API}accounts", json=OK)
    assert _read(client) == [{"name": "A"}]
    assert auth.refreshes == 1
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer token-0"
    assert mocked.calls[1].request.headers["Authorization"] == "Bearer token-1"


def test_a_second_401_raises_auth_error(client, mocked, auth):
    mocked.add("GET", f"{API}accounts", status=401, json=_error("", "invalid token"))
    with pytest.raises(AuthError) as caught:
        _read(client)
    assert caught.value.kind == "auth"
    assert caught.value.status == 401
    assert auth.refreshes == 1
    assert len(mocked.calls) == 2


def test_connection_errors_are_retried_then_raised_as_connect_error(client, mocked):
    mocked.add("GET", f"{API}accounts", body=requests.ConnectionError("Connection aborted."))
    with pytest.raises(ConnectError) as caught:
        _read(client)
    assert caught.value.kind == "connect"
    assert caught.value.retryable
    assert len(mocked.calls) == 4


def test_a_timeout_is_a_connect_error(client, mocked):
    mocked.add("GET", f"{API}accounts", body=requests.ReadTimeout("read timed out"))
    mocked.add("GET", f"{API}accounts", json=OK)
    assert _read(client) == [{"name": "A"}]


def test_tls_failures_are_not_retried(client, mocked):
    mocked.add(
        "GET", f"{API}accounts", body=requests.exceptions.SSLError("certificate verify failed")
    )
    with pytest.raises(ConnectError) as caught:
        _read(client)
    assert not caught.value.retryable
    assert len(mocked.calls) == 1


def test_a_token_source_failure_is_retried_when_it_can_get_better(fake_time, mocked):
    class FlakyAuth:
        calls = 0

        def access_token(self, *, force_refresh=False):
            self.calls += 1
            if self.calls == 1:
                raise ConnectError("identity provider unreachable")
            return "t"

    client = DynamicsClient(
        ORG,
        FlakyAuth(),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        extra_allowed_hosts=ALLOWED,
    )
    mocked.add("GET", f"{API}accounts", json=OK)
    assert _read(client) == [{"name": "A"}]
    assert len(fake_time.sleeps) == 1


# -- writes: what is safe to send twice ---------------------------------------------------


def test_a_create_without_id_is_not_retried_after_a_5xx(client, mocked):
    mocked.add("POST", f"{API}tasks", status=500, json=_error(""))
    with pytest.raises(ApiError) as caught:
        client.create("tasks", {"subject": "x"})
    assert not caught.value.retryable
    assert len(mocked.calls) == 1


def test_a_create_without_id_is_not_retried_after_a_dropped_connection(client, mocked):
    mocked.add("POST", f"{API}tasks", body=requests.ConnectionError("Connection aborted."))
    with pytest.raises(ConnectError):
        client.create("tasks", {"subject": "x"})
    assert len(mocked.calls) == 1


def test_a_create_without_id_is_retried_after_429(client, mocked):
    mocked.add("POST", f"{API}tasks", status=429, headers={"Retry-After": "1"})
    mocked.add("POST", f"{API}tasks", status=204, headers={"OData-EntityId": f"{API}tasks({ROW})"})
    assert client.create("tasks", {"subject": "x"}) == ROW


def test_a_create_with_id_is_a_create_only_upsert(client, mocked):
    mocked.add("PATCH", f"{API}tasks({ROW})", status=204)
    assert client.create("tasks", {"subject": "x"}, row_id=ROW.upper()) == ROW
    request = mocked.calls[0].request
    assert request.headers["If-None-Match"] == "*"
    assert request.body == b'{"subject":"x"}'
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"


def test_a_duplicate_on_the_first_send_is_raised(client, mocked):
    mocked.add(
        "PATCH",
        f"{API}tasks({ROW})",
        status=412,
        json=_error("", "A record with matching key values already exists."),
    )
    with pytest.raises(DuplicateRecord):
        client.create("tasks", {"subject": "x"}, row_id=ROW)


def test_a_duplicate_after_a_lost_answer_means_already_created(client, mocked):
    mocked.add("PATCH", f"{API}tasks({ROW})", body=requests.ConnectionError("dropped"))
    mocked.add(
        "PATCH",
        f"{API}tasks({ROW})",
        status=412,
        json=_error("0x80040237", "A record with matching key values already exists."),
    )
    assert client.create("tasks", {"subject": "x"}, row_id=ROW) == ROW
    assert len(mocked.calls) == 2


def test_a_delete_whose_answer_was_lost_is_done(client, mocked):
    mocked.add("DELETE", f"{API}tasks({ROW})", status=503, headers={"Retry-After": "1"})
    mocked.add("DELETE", f"{API}tasks({ROW})", status=404, json=_error("0x80040217"))
    client.delete("tasks", ROW)
    mocked.replace("DELETE", f"{API}tasks({ROW})", status=404, json=_error("0x80040217"))
    with pytest.raises(NotFound):
        client.delete("tasks", ROW)


def test_update_refuses_to_create_and_impersonates(client, mocked):
    caller = "a6f3c2d1-1111-4222-8333-944455556666"
    mocked.add("PATCH", f"{API}tasks({ROW})", status=204)
    client.update("tasks", ROW, {"subject": "y"}, caller_object_id=caller)
    headers = mocked.calls[0].request.headers
    assert headers["If-Match"] == "*"
    assert headers["CallerObjectId"] == caller


def test_upsert_preconditions(client, mocked):
    mocked.add("PATCH", f"{API}tasks({ROW})", status=204)
    client.upsert("tasks", ROW, {"subject": "y"})
    client.upsert("tasks", ROW, {"subject": "y"}, prevent_create=True)
    client.upsert("tasks", ROW, {"subject": "y"}, prevent_update=True)
    first, second, third = (call.request.headers for call in mocked.calls)
    assert "If-Match" not in first and first["If-None-Match"] == "null"
    assert second["If-Match"] == "*"
    assert third["If-None-Match"] == "*"
    with pytest.raises(ValueError):
        client.upsert("tasks", ROW, {}, prevent_create=True, prevent_update=True)


def test_only_the_send_after_a_401_forces_a_token_refresh(client, mocked, auth):
    mocked.add("GET", f"{API}accounts", status=401, json=_error("", "token expired"))
    mocked.add("GET", f"{API}accounts", status=503, headers={"Retry-After": "1"})
    mocked.add("GET", f"{API}accounts", json=OK)
    assert _read(client) == [{"name": "A"}]
    assert auth.refreshes == 1
    assert [call.request.headers["Authorization"] for call in mocked.calls] == [
        "Bearer token-0",
        "Bearer token-1",
        "Bearer token-1",
    ]
