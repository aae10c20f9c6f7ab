"""Replayed: HTML error pages from a gateway or proxy in front of the org (502, 503): retried
like any 5xx, a 503's Retry-After honoured, and never mistaken for Dataverse's JSON."""

import pytest

from dynamics import ApiError, MalformedResponse
from tests.dynamics.replay_server import Canned


def test_a_502_page_is_retried_and_the_next_answer_used(replay, replay_client, fake_time):
    replay.replay(Canned.load("gateway_502.html.http"), Canned.load("whoami_200.http"))
    assert replay_client.whoami()["UserId"]
    assert len(replay.received) == 2
    assert len(fake_time.sleeps) == 1 and fake_time.sleeps[0] <= 0.5  # backoff, with jitter


def test_a_503_page_s_retry_after_is_waited_in_full(replay, replay_client, fake_time):
    replay.replay(
        Canned.load("gateway_503.html.http", retry_after="9"), Canned.load("whoami_200.http")
    )
    assert replay_client.whoami()["UserId"]
    assert fake_time.sleeps == [9.0]


def test_a_gateway_page_that_keeps_coming_says_what_it_was(replay, replay_client):
    replay.replay(*[Canned.load("gateway_502.html.http")] * 4)
    with pytest.raises(ApiError) as raised:
        replay_client.whoami()
    error = raised.value
    assert error.status == 502 and error.code is None and error.retryable
    assert "HTTP 502 with non-JSON body (text/html" in error.message


def test_an_html_page_with_status_200_is_malformed_not_data(replay, replay_client):
    page = Canned.load("gateway_502.html.http")
    page.status, page.reason = 200, "OK"
    replay.replay(*[page] * 4)
    with pytest.raises(MalformedResponse) as raised:
        replay_client.whoami()
    assert "text/html where JSON was expected" in raised.value.message
    assert len(replay.received) == 4  # a GET's malformed answer is retried like a 5xx
