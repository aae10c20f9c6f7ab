"""Replayed: Microsoft's documented error answers (tests/dynamics/replay/README.md)."""

import pytest

from dynamics import ApiError, NotFound, ValidationFailed
from tests.dynamics.replay_server import Canned

ACCOUNT = "60c4e274-0d87-e711-80e5-00155db19e6d"


def test_a_plugin_error_with_its_annotations_is_a_validation_failure(replay, replay_client):
    replay.replay(Canned.load("error_plugin_400.http"))
    with pytest.raises(ValidationFailed) as raised:
        replay_client.create("accounts", {"name": "Example Account"})
    error = raised.value
    assert (error.status, error.code, error.message) == (
        400,
        "0x80040265",
        "Example Error Message.",
    )
    assert not error.retryable
    assert len(replay.received) == 1  # a 400 is never retried
    assert "HTTP 400, code 0x80040265, table accounts" in str(error)


def test_the_example_as_printed_still_maps_by_status(replay, replay_client):
    """The page's example is not valid JSON (a comma is missing): no code can be read, so the
    error is classified by its status alone, and says what the body was."""
    replay.replay(Canned.load("error_plugin_400_verbatim.http"))
    with pytest.raises(ValidationFailed) as raised:
        replay_client.create("accounts", {"name": "Example Account"})
    assert raised.value.code is None
    assert "non-JSON body (application/json" in raised.value.message


def test_an_empty_code_is_no_code_and_a_missing_row_is_not_found(replay, replay_client):
    replay.replay(Canned.load("error_empty_code_404.http"))
    with pytest.raises(NotFound) as raised:
        replay_client.get_row("accounts", ACCOUNT, select=["name"])
    assert raised.value.code is None
    assert raised.value.message == f"account With Id = {ACCOUNT} Does Not Exist"
    assert len(replay.received) == 1
    request = replay.received[0]
    assert request.method == "GET"
    assert request.path == f"/api/data/v9.2/accounts({ACCOUNT})?$select=name"
    assert request.headers["Authorization"] == "Bearer replay-token"
    assert request.headers["OData-Version"] == "4.0"


def test_a_read_is_retried_after_a_5xx_error_and_gives_up_retryable(replay, replay_client):
    replay.replay(*[Canned.load("gateway_502.html.http")] * 4)
    with pytest.raises(ApiError) as raised:
        replay_client.whoami()
    assert raised.value.retryable
    assert len(replay.received) == 4  # max_attempts
