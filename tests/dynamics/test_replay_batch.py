"""Replayed: Microsoft's $batch responses (execute-batch-operations-using-web-api): a change set
with a GET after it, a batch stopped by its first error, and one that continued on error."""

from dynamics import ChangeSet, Operation, ValidationFailed
from tests.dynamics.replay_server import Canned

ACCOUNT = "00000000-0000-0000-0000-000000000001"
REGARDING = {"regardingobjectid_account_task@odata.bind": f"accounts({ACCOUNT})"}


def _tasks(n):
    return [Operation.create("tasks", {"subject": f"Task {i} in batch", **REGARDING})
            for i in range(1, n + 1)]  # fmt: skip


def test_a_change_set_and_a_get_come_back_matched_to_their_operations(replay, replay_client):
    replay.replay(Canned.load("batch_changeset_200.http"))
    read = Operation.get("tasks", query="$select=subject")
    results = replay_client.batch([ChangeSet(_tasks(3)), read], continue_on_error=False)
    assert [r.status for r in results] == [204, 204, 204, 200]
    assert all(r.ok for r in results)
    assert [r.row_id for r in results[:3]] == [
        "e73ffc82-e292-ed11-aad1-000d3a9933c9",
        "e83ffc82-e292-ed11-aad1-000d3a9933c9",
        "e93ffc82-e292-ed11-aad1-000d3a9933c9",
    ]
    assert [row["subject"] for row in results[3].body["value"]] == [
        "Task 1 in batch", "Task 2 in batch", "Task 3 in batch"
    ]  # fmt: skip
    sent = replay.received[0]
    assert sent.method == "POST" and sent.path == "/api/data/v9.2/$batch"
    assert sent.headers["Content-Type"].startswith("multipart/mixed; boundary=")
    assert b"Content-ID: 1" in sent.body and "Prefer" not in sent.headers


def test_without_continue_on_error_the_first_failure_stops_the_batch(replay, replay_client):
    replay.replay(Canned.load("batch_stop_on_error_400.http"))
    results = replay_client.batch(_tasks(3), continue_on_error=False)
    first, *rest = results
    assert isinstance(first.error, ValidationFailed)
    assert (first.status, first.error.code) == (400, "0x80044331")
    assert "maximum allowed length of '200'" in first.error.message
    assert [(r.status, r.ok) for r in rest] == [(None, False), (None, False)]
    assert all("Not executed" in r.error.message for r in rest)
    assert len(replay.received) == 1  # a 400 batch is answered, not retried


def test_with_continue_on_error_every_part_has_its_own_outcome(replay, replay_client):
    replay.replay(Canned.load("batch_continue_on_error_200.http"))
    results = replay_client.batch(_tasks(3), continue_on_error=True)
    assert [r.status for r in results] == [400, 204, 204]
    assert isinstance(results[0].error, ValidationFailed)
    assert [r.row_id for r in results[1:]] == [
        "aed2ae8b-3c94-ed11-aad1-000d3a9933c9",
        "b181a991-3c94-ed11-aad1-000d3a9933c9",
    ]
    assert replay.received[0].headers["Prefer"] == "odata.continue-on-error"
