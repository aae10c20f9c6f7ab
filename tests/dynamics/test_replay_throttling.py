"""Replayed: 429 with each service-protection code Microsoft documents (api-limits, "Service
Protection API Limit Errors returned"), and what the client does with its Retry-After."""

import pytest

from dynamics import Throttled
from tests.dynamics.replay_server import Canned

LIMITS = [
    ("throttle_requests.http", "0x80072322", "number of requests"),
    ("throttle_execution_time.http", "0x80072321", "combined execution time"),
    ("throttle_concurrency.http", "0x80072326", "concurrent requests"),
]


@pytest.mark.parametrize(("fixture", "code", "limit"), LIMITS)
def test_it_waits_the_whole_retry_after_then_succeeds(
    replay, replay_client, fake_time, fixture, code, limit
):
    replay.replay(Canned.load(fixture, retry_after="7"), Canned.load("whoami_200.http"))
    assert replay_client.whoami()["UserId"] == "88057198-a9b1-ec11-9840-00224829d1a1"
    assert fake_time.sleeps == [7.0]  # no jitter, no shortening: exactly what the server said
    assert len(replay.received) == 2
    assert replay_client.stats.throttled == 1


@pytest.mark.parametrize(("fixture", "code", "limit"), LIMITS)
def test_a_wait_too_long_for_the_call_ends_it_throttled_and_holds_the_client(
    replay, replay_client, fake_time, fixture, code, limit
):
    replay.replay(Canned.load(fixture, retry_after="600"))
    with pytest.raises(Throttled) as raised:
        replay_client.whoami()
    error = raised.value
    assert (error.status, error.code, error.limit) == (429, code, limit)
    assert error.retryable and error.retry_after == 600 and error.retry_at is not None
    assert fake_time.sleeps == []
    # Microsoft: requests sent during the wait extend it. The next call sends nothing.
    with pytest.raises(Throttled):
        replay_client.whoami()
    assert len(replay.received) == 1
