"""$batch: encoding the multipart request and decoding every shape of response."""

import json
import re

import pytest
import requests

from dynamics import (
    ApiError,
    ChangeSet,
    DuplicateRecord,
    MalformedResponse,
    NotFound,
    Operation,
    RolledBack,
    ValidationFailed,
)
from dynamics.batch import encode_batch, split_items
from tests.dynamics.client_fakes import API

T1 = "d31ba648-c592-ed11-aad1-000d3a993550"
T2 = "d41ba648-c592-ed11-aad1-000d3a993550"
T3 = "d51ba648-c592-ed11-aad1-000d3a993550"
BATCH_URL = f"{API}$batch"
DUPLICATE = json.dumps(
    {
        "error": {
            "code": "0x80040237",
            "message": "A record with matching key values already exists.",
        }
    }
)
VALIDATION = (
    '{"error":{"code":"0x80044331","message":"A validation error occurred.  The length of '
    "the 'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'.\"}}"
)


def _multipart(boundary, parts):
    """A response body in Dataverse's layout: CRLF lines, parts separated by --boundary."""
    text = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return text.encode()


def _http_part(status_line, headers=(), body="", content_id=None):
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"HTTP/1.1 {status_line}", *headers, "", body]
    return "\r\n".join(lines)


def _created(row, content_id=None):
    location = f"{API}tasks({row})"
    return _http_part(
        "204 No Content",
        ["OData-Version: 4.0", f"Location: {location}", f"OData-EntityId: {location}"],
        content_id=content_id,
    )


def _changeset_part(boundary, parts):
    inner = _multipart(boundary, parts).decode()
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}"


def _respond(mocked, body, status=200, boundary="batchresponse_1"):
    mocked.add(
        "POST",
        BATCH_URL,
        body=body,
        status=status,
        content_type=f"multipart/mixed; boundary={boundary}",
    )


# -- encoding ------------------------------------------------------------------------------


def test_it_encodes_operations_and_change_sets_as_documented():
    items = [
        Operation.create("tasks", {"subject": "Task 1"}),
        ChangeSet(
            [
                Operation.create("tasks", {"subject": "Task 2"}, row_id=T2),
                Operation.update("tasks", T2, {"statecode": 1, "statuscode": 5}),
            ]
        ),
        Operation.get("tasks", T1, query="$select=subject"),
    ]
    content_type, body = encode_batch(items, api_path="/api/data/v9.2/", boundary="batch_X")
    assert content_type == 'multipart/mixed; boundary="batch_X"'
    text = body.decode()
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    changeset = re.search(r'boundary="(changeset_[^"]+)"', text).group(1)
    expected = (
        "--batch_X\r\n"
        "Content-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "\r\n"
        "POST /api/data/v9.2/tasks HTTP/1.1\r\n"
        "Content-Type: application/json; type=entry\r\n"
        "\r\n"
        '{"subject":"Task 1"}\r\n'
        "--batch_X\r\n"
        f'Content-Type: multipart/mixed; boundary="{changeset}"\r\n'
        "\r\n"
        f"--{changeset}\r\n"
        "Content-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "Content-ID: 1\r\n"
        "\r\n"
        f"PATCH /api/data/v9.2/tasks({T2}) HTTP/1.1\r\n"
        "If-None-Match: *\r\n"
        "Content-Type: application/json; type=entry\r\n"
        "\r\n"
        '{"subject":"Task 2"}\r\n'
        f"--{changeset}\r\n"
        "Content-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "Content-ID: 2\r\n"
        "\r\n"
        f"PATCH /api/data/v9.2/tasks({T2}) HTTP/1.1\r\n"
        "If-Match: *\r\n"
        "Content-Type: application/json; type=entry\r\n"
        "\r\n"
        '{"statecode":1,"statuscode":5}\r\n'
        f"--{changeset}--\r\n"
        "\r\n"
        "--batch_X\r\n"
        "Content-Type: application/http\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        "\r\n"
        f"GET /api/data/v9.2/tasks({T1})?$select=subject HTTP/1.1\r\n"
        "\r\n"
        "--batch_X--\r\n"
    )
    assert text == expected


def test_content_id_references_are_sent_as_written():
    items = [
        ChangeSet(
            [
                Operation("POST", "accounts", {"name": "A"}, content_id="7"),
                Operation("PATCH", "$7", {"name": "B"}),
            ]
        )
    ]
    _, body = encode_batch(items, api_path="/api/data/v9.2/")
    text = body.decode()
    assert "Content-ID: 7\r\n" in text
    assert "Content-ID: 1\r\n" in text
    assert "PATCH $7 HTTP/1.1" in text


def test_a_change_set_refuses_gets():
    with pytest.raises(ValueError):
        ChangeSet([Operation.get("tasks", T1)])


def test_split_keeps_batches_under_the_limit_and_change_sets_whole():
    items = [Operation.delete("tasks", T1)] * 3 + [ChangeSet([Operation.delete("tasks", T1)] * 3)]
    chunks = split_items(items, limit=4)
    assert [len(chunk) for chunk in chunks] == [3, 1]
    with pytest.raises(ValueError):
        split_items([ChangeSet([Operation.delete("tasks", T1)] * 5)], limit=4)


# -- decoding ------------------------------------------------------------------------------


def test_it_reads_the_documented_batch_response(client, mocked):
    get_body = json.dumps({"value": [{"subject": "Task 1 in batch", "activityid": T1}]})
    body = _multipart(
        "batchresponse_01346794",
        [
            _created(T1),
            _created(T2),
            _created(T3),
            _http_part(
                "200 OK",
                ["Content-Type: application/json; odata.metadata=minimal", "OData-Version: 4.0"],
                get_body,
            ),
        ],
    )
    _respond(mocked, body, boundary="batchresponse_01346794")
    results = client.batch(
        [Operation.create("tasks", {"subject": f"Task {n}"}) for n in (1, 2, 3)]
        + [Operation.get("tasks", query="$select=subject")]
    )
    assert [result.status for result in results] == [204, 204, 204, 200]
    assert all(result.ok for result in results)
    assert [result.row_id for result in results[:3]] == [T1, T2, T3]
    assert results[3].body["value"][0]["subject"] == "Task 1 in batch"
    request = mocked.calls[0].request
    assert request.headers["Prefer"] == "odata.continue-on-error"
    assert request.headers["Content-Type"].startswith('multipart/mixed; boundary="batch_')


def test_it_reads_a_change_set_response(client, mocked):
    body = _multipart(
        "batchresponse_f27e",
        [_changeset_part("changesetresponse_64cc", [_created(T2, "2"), _created(T1, "1")])],
    )
    _respond(mocked, body, boundary="batchresponse_f27e")
    results = client.batch(
        [
            ChangeSet(
                [
                    Operation("POST", "tasks", {"subject": "1"}, content_id="1"),
                    Operation("POST", "tasks", {"subject": "2"}, content_id="2"),
                ]
            )
        ]
    )
    # Matched by Content-ID, not by position.
    assert [result.row_id for result in results] == [T1, T2]


def test_a_failed_change_set_fails_every_operation_in_it(client, mocked):
    body = _multipart(
        "batchresponse_1",
        [_http_part("400 Bad Request", ["Content-Type: application/json"], VALIDATION, "1")],
    )
    _respond(mocked, body, status=400)
    results = client.batch(
        [
            ChangeSet(
                [
                    Operation.create("tasks", {"subject": "x" * 300}, row_id=T1),
                    Operation.update("tasks", T1, {"statecode": 1, "statuscode": 5}),
                ]
            )
        ],
        continue_on_error=False,
    )
    assert [result.ok for result in results] == [False, False]
    assert isinstance(results[0].error, ValidationFailed)
    assert results[0].error.code == "0x80044331"
    assert isinstance(results[1].error, RolledBack)
    assert "Rolled back" in results[1].error.message
    assert results[1].error.url == f"{API}tasks({T1})"
    assert "Prefer" not in mocked.calls[0].request.headers


def test_continue_on_error_reports_each_operation(client, mocked):
    body = _multipart(
        "batchresponse_f44b",
        [
            _http_part("400 Bad Request", ["Content-Type: application/json"], VALIDATION),
            _created(T2),
            _created(T3),
        ],
    )
    _respond(mocked, body, boundary="batchresponse_f44b")
    results = client.batch([Operation.create("tasks", {"subject": str(n)}) for n in range(3)])
    assert [result.ok for result in results] == [False, True, True]
    assert results[0].status == 400
    assert results[0].error.table == "tasks"
    assert "exceeded the maximum allowed length" in str(results[0].error)


def test_without_continue_on_error_the_rest_is_not_executed(client, mocked):
    body = _multipart(
        "batchresponse_156d",
        [_http_part("400 Bad Request", ["Content-Type: application/json"], VALIDATION)],
    )
    _respond(mocked, body, status=400, boundary="batchresponse_156d")
    results = client.batch(
        [Operation.create("tasks", {"subject": str(n)}) for n in range(3)],
        continue_on_error=False,
    )
    assert [result.status for result in results] == [400, None, None]
    assert "Not executed" in results[1].error.message
    assert len(mocked.calls) == 1  # a 400 batch is an answer, not something to retry


def test_a_resent_batch_recognises_rows_it_already_created(client, mocked):
    duplicate = _http_part(
        "412 Precondition Failed",
        ["Content-Type: application/json"],
        DUPLICATE,
    )
    mocked.add("POST", BATCH_URL, body=requests.ConnectionError("connection dropped"))
    _respond(mocked, _multipart("batchresponse_1", [duplicate, _created(T2)]))
    results = client.batch(
        [Operation.create("tasks", {"subject": "1"}, T1), Operation.create("tasks", {}, T2)]
    )
    assert [(r.ok, r.already_existed, r.row_id) for r in results] == [
        (True, True, T1),
        (True, False, T2),
    ]
    assert client.stats.retries == 1


def test_a_duplicate_on_the_first_send_is_an_error(client, mocked):
    duplicate = _http_part(
        "412 Precondition Failed",
        ["Content-Type: application/json"],
        '{"error":{"code":"","message":"A record with matching key values already exists."}}',
    )
    _respond(mocked, _multipart("batchresponse_1", [duplicate]))
    (result,) = client.batch([Operation.create("tasks", {"subject": "1"}, T1)])
    assert not result.ok
    assert isinstance(result.error, DuplicateRecord)


def test_a_batch_over_1000_operations_is_split(client, mocked):
    def answer(request):
        count = request.body.count(b"Content-Type: application/http")
        boundary = "batchresponse_x"
        return (
            200,
            {"Content-Type": f"multipart/mixed; boundary={boundary}"},
            _multipart(boundary, [_created(T1)] * count),
        )

    mocked.add_callback("POST", BATCH_URL, callback=answer)
    results = client.batch([Operation.create("tasks", {"subject": "s"}) for _ in range(1500)])
    assert len(results) == 1500
    assert len(mocked.calls) == 2


def test_a_whole_batch_throttled_is_retried(client, mocked, fake_time):
    mocked.add("POST", BATCH_URL, status=429, headers={"Retry-After": "3"}, json={"error": {}})
    _respond(mocked, _multipart("batchresponse_1", [_created(T1)]))
    (result,) = client.batch([Operation.create("tasks", {"subject": "1"}, T1)])
    assert result.ok and not result.already_existed
    assert fake_time.sleeps == [3]


GARBAGE = {
    "html page": (b"<html><body>Bad gateway</body></html>", "text/html", "not multipart/mixed"),
    "no boundary parameter": (b"--x\r\n", "multipart/mixed", "not multipart/mixed"),
    "truncated": (
        b"--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        "multipart/mixed; boundary=b",
        "closing boundary is missing",
    ),
    "no status line": (
        b"--b\r\nContent-Type: application/http\r\n\r\nhello\r\n--b--\r\n",
        "multipart/mixed; boundary=b",
        "no HTTP status line",
    ),
    "wrong boundary": (
        b"--other\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No\r\n--other--",
        "multipart/mixed; boundary=b",
        "no part starts with the boundary",
    ),
    "unexpected part type": (
        b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n",
        "multipart/mixed; boundary=b",
        "unexpected Content-Type",
    ),
    "too many parts": (
        _multipart("b", [_created(T1), _created(T2)]),
        "multipart/mixed; boundary=b",
        "2 parts for 1 requests",
    ),
    "success part with broken json": (
        _multipart("b", [_http_part("200 OK", ["Content-Type: application/json"], '{"a": ')]),
        "multipart/mixed; boundary=b",
        "is not JSON",
    ),
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
def test_a_garbage_batch_response_raises_malformed_response(client, mocked, case):
    body, content_type, expected = GARBAGE[case]
    mocked.add("POST", BATCH_URL, body=body, content_type=content_type)
    operation = (
        Operation.get("tasks", T1)
        if case == "success part with broken json"
        else Operation.create("tasks", {"subject": "1"}, T1)
    )
    with pytest.raises(MalformedResponse) as caught:
        client.batch([operation])
    assert expected in caught.value.message
    assert caught.value.url == BATCH_URL
    assert BATCH_URL in str(caught.value)


def test_create_closed_activity_sends_one_change_set(client, mocked):
    body = _multipart(
        "batchresponse_1",
        [
            _changeset_part(
                "changesetresponse_1",
                [_created(T1, "1"), _http_part("204 No Content", [], content_id="2")],
            )
        ],
    )
    _respond(mocked, body)
    caller = "a6f3c2d1-1111-4222-8333-944455556666"
    row = client.create_closed_activity(
        "tasks", {"subject": "Done"}, row_id=T1, state=(1, 5), caller_object_id=caller
    )
    assert row == T1
    request = mocked.calls[0].request
    assert request.headers["CallerObjectId"] == caller
    text = request.body.decode()
    assert text.count("Content-ID:") == 2
    assert '{"statecode":1,"statuscode":5}' in text


def test_create_closed_activity_after_a_lost_answer_makes_sure_the_row_is_closed(client, mocked):
    duplicate = _http_part(
        "412 Precondition Failed",
        ["Content-Type: application/json"],
        DUPLICATE,
        content_id="1",
    )
    mocked.add("POST", BATCH_URL, body=requests.ConnectionError("dropped"))
    _respond(mocked, _multipart("batchresponse_1", [duplicate]), status=412)
    mocked.add("GET", f"{API}tasks({T1})", json={"activityid": T1, "statecode": 0, "statuscode": 2})
    mocked.add("PATCH", f"{API}tasks({T1})", status=204)
    assert client.create_closed_activity("tasks", {"subject": "x"}, row_id=T1, state=(1, 5)) == T1
    patch = mocked.calls[-1].request
    assert patch.method == "PATCH"
    assert json.loads(patch.body) == {"statecode": 1, "statuscode": 5}


def test_create_closed_activity_raises_the_failure(client, mocked):
    body = _multipart(
        "batchresponse_1",
        [_http_part("400 Bad Request", ["Content-Type: application/json"], VALIDATION, "1")],
    )
    _respond(mocked, body, status=400)
    with pytest.raises(ValidationFailed):
        client.create_closed_activity("tasks", {"subject": "x" * 300}, row_id=T1, state=(1, 5))


def test_a_batch_error_without_multipart_body_is_a_plain_error(client, mocked):
    mocked.add(
        "POST",
        BATCH_URL,
        status=400,
        json={"error": {"code": "0x0", "message": "Content-ID Reference: '$1' does not exist"}},
    )
    with pytest.raises(ApiError, match="does not exist in the batch context|does not exist"):
        client.batch([ChangeSet([Operation("PATCH", "$1", {"name": "x"})])])


def test_a_missing_row_inside_a_batch_is_not_found(client, mocked):
    missing = _http_part(
        "404 Not Found",
        ["Content-Type: application/json"],
        json.dumps(
            {"error": {"code": "0x80040217", "message": f"task With Id = {T1} Does Not Exist"}}
        ),
    )
    _respond(mocked, _multipart("batchresponse_1", [missing]))
    (result,) = client.batch([Operation.delete("tasks", T1)])
    assert isinstance(result.error, NotFound)
    assert str(result.error).endswith(f"DELETE {API}tasks({T1})]")
