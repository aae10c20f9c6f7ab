"""$batch: multipart format, change sets, Content-ID references, error handling, atomicity."""

from __future__ import annotations

import json
import re
import uuid

import pytest

pytestmark = pytest.mark.emulator

API = "/api/data/v9.2/"


def _part(method: str, url: str, body=None, content_id: str | None = None,
          headers: dict | None = None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines += ["Content-Type: application/json; type=entry", "", json.dumps(body)]
    else:
        lines += ["", ""]
    return "\r\n".join(lines)


def build_batch(items: list) -> tuple[str, bytes]:
    """items: part strings, or lists of part strings (a change set)."""
    boundary = f"batch_{uuid.uuid4()}"
    chunks = []
    for item in items:
        if isinstance(item, list):
            change = f"changeset_{uuid.uuid4()}"
            inner = "".join(f"--{change}\r\n{part}\r\n" for part in item) + f"--{change}--"
            chunks.append(f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={change}"
                          f"\r\n\r\n{inner}\r\n")
        else:
            chunks.append(f"--{boundary}\r\n{item}\r\n")
    body = "".join(chunks) + f"--{boundary}--\r\n"
    return f'multipart/mixed; boundary="{boundary}"', body.encode()


def parse_batch_response(response) -> list[dict]:
    """Flatten a batch response into [{status, headers, body, content_id}]."""
    content_type = response.headers["Content-Type"]
    boundary = re.search(r"boundary=([^;]+)", content_type).group(1)
    return _parse_level(response.text, boundary)


def _parse_level(text: str, boundary: str) -> list[dict]:
    results = []
    for piece in text.split(f"--{boundary}")[1:]:
        if piece.startswith("--"):
            break
        head, _, rest = piece.lstrip("\r\n").partition("\r\n\r\n")
        inner = re.search(r"boundary=(\S+)", head)
        if "multipart/mixed" in head and inner:
            results += _parse_level(rest, inner.group(1))
            continue
        content_id = re.search(r"Content-ID: (\S+)", head)
        status_line, _, after = rest.partition("\r\n")
        headers_text, _, body = after.partition("\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in headers_text.split("\r\n") if line)
        results.append({"status": int(status_line.split()[1]), "headers": headers,
                        "body": body.strip(), "content_id": content_id and content_id.group(1)})
    return results


def post_batch(api, items, prefer: str | None = None):
    content_type, body = build_batch(items)
    return api.post("$batch", data=body, prefer=prefer, headers={"Content-Type": content_type})


def test_change_set_with_content_id_reference_creates_a_closed_activity(api, emulator):
    contact = emulator.rows("contacts", top=1)[0]
    inmail_id = str(uuid.uuid4())
    response = post_batch(api, [[
        _part("POST", f"{API}li_inmails", {
            "activityid": inmail_id, "subject": "Closed on arrival",
            "regardingobjectid_contact_li_inmail@odata.bind": f"/contacts({contact['contactid']})"},
            content_id="1"),
        _part("PATCH", "$1", {"statecode": 1, "statuscode": 2}, content_id="2"),
    ]])
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert "changesetresponse_" in response.text
    parts = parse_batch_response(response)
    assert [(p["status"], p["content_id"]) for p in parts] == [(204, "1"), (204, "2")]
    assert parts[0]["headers"]["OData-EntityId"].endswith(f"li_inmails({inmail_id})")
    stored = emulator.row("li_inmails", inmail_id)
    assert (stored["statecode"], stored["statuscode"]) == (1, 2)


def test_reference_in_a_bind_value(api, emulator):
    account_id = str(uuid.uuid4())
    response = post_batch(api, [[
        _part("POST", "accounts", {"accountid": account_id, "name": "Parent Co"}, content_id="a"),
        _part("POST", "contacts", {"lastname": "Child",
                                   "parentcustomerid_account@odata.bind": "$a"}, content_id="c"),
    ]])
    assert [p["status"] for p in parse_batch_response(response)] == [204, 204]
    children = emulator.rows("contacts", filter=f"_parentcustomerid_value eq {account_id}")
    assert [c["lastname"] for c in children] == ["Child"]


def test_gets_outside_change_sets_and_absolute_urls(api, emulator):
    response = post_batch(api, [
        _part("GET", f"{emulator.api_url}accounts?$select=name&$top=2"),
        _part("GET", "WhoAmI"),
    ])
    parts = parse_batch_response(response)
    assert [p["status"] for p in parts] == [200, 200]
    assert len(json.loads(parts[0]["body"])["value"]) == 2
    assert "UserId" in json.loads(parts[1]["body"])


def test_failure_stops_the_batch_without_continue_on_error(api, emulator):
    ok_id, after_id = str(uuid.uuid4()), str(uuid.uuid4())
    response = post_batch(api, [
        _part("POST", "tasks", {"activityid": ok_id, "subject": "first"}),
        _part("POST", "tasks", {"subject": "x" * 201}),
        _part("POST", "tasks", {"activityid": after_id, "subject": "never"}),
    ])
    assert response.status_code == 400
    parts = parse_batch_response(response)
    assert [p["status"] for p in parts] == [204, 400]
    assert json.loads(parts[1]["body"])["error"]["code"] == "0x80044331"
    assert emulator.row("tasks", ok_id) is not None
    assert emulator.row("tasks", after_id) is None


def test_continue_on_error_runs_every_part(api, emulator):
    after_id = str(uuid.uuid4())
    response = post_batch(api, [
        _part("POST", "tasks", {"subject": "x" * 201}),
        _part("POST", "tasks", {"activityid": after_id, "subject": "still runs"}),
    ], prefer="odata.continue-on-error")
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "odata.continue-on-error"
    assert [p["status"] for p in parse_batch_response(response)] == [400, 204]
    assert emulator.row("tasks", after_id) is not None


def test_a_failing_change_set_rolls_back_its_earlier_parts(api, emulator):
    first, duplicate = str(uuid.uuid4()), str(uuid.uuid4())
    api.post("tasks", json={"activityid": duplicate, "subject": "exists already"})
    version_before = emulator.row("tasks", duplicate)["versionnumber"]
    later = str(uuid.uuid4())
    response = post_batch(api, [
        [_part("POST", "tasks", {"activityid": first, "subject": "rolled back"}, content_id="1"),
         _part("PATCH", f"tasks({duplicate})", {"subject": "changed"}, content_id="2"),
         _part("POST", "tasks", {"activityid": duplicate, "subject": "dup"}, content_id="3")],
        _part("POST", "tasks", {"activityid": later, "subject": "after the change set"}),
    ], prefer="odata.continue-on-error")
    parts = parse_batch_response(response)
    assert [(p["status"], p["content_id"]) for p in parts] == [(412, "3"), (204, None)]
    assert emulator.row("tasks", first) is None
    assert emulator.row("tasks", duplicate)["subject"] == "exists already"
    assert emulator.row("tasks", duplicate)["versionnumber"] == version_before
    assert emulator.row("tasks", later) is not None


def test_reference_to_an_undeclared_content_id_is_400(api):
    response = post_batch(api, [[_part("PATCH", "$7", {"subject": "x"}, content_id="1")]])
    assert response.status_code == 400
    part = parse_batch_response(response)[0]
    assert "Content-ID Reference: '$7' does not exist" in part["body"]


@pytest.mark.parametrize("items, fragment", [
    ([[_part("GET", "accounts")]], "GET requests are not allowed inside a change set"),
    ([_part("POST", "$batch", {})], "cannot contain another batch"),
])
def test_malformed_batches_are_400(api, items, fragment):
    response = post_batch(api, items)
    assert response.status_code == 400
    assert fragment in response.text


def test_not_multipart_is_400(api):
    response = api.post("$batch", json={"requests": []})
    assert response.status_code == 400
    assert "multipart/mixed" in response.json()["error"]["message"]


def test_more_than_1000_operations_is_400(api):
    parts = [_part("GET", "WhoAmI") for _ in range(1001)]
    response = post_batch(api, parts)
    assert response.status_code == 400
    assert "maximum is 1000" in response.json()["error"]["message"]


def test_a_thousand_creates_in_one_batch(api, emulator):
    before = emulator.counts()["tasks"]
    ids = [str(uuid.uuid4()) for _ in range(1000)]
    response = post_batch(api, [_part("POST", "tasks", {"activityid": i, "subject": f"t{n}"})
                                for n, i in enumerate(ids)])
    assert response.status_code == 200
    assert [p["status"] for p in parse_batch_response(response)] == [204] * 1000
    assert emulator.counts()["tasks"] == before + 1000


def test_lf_line_endings_are_accepted(api):
    content_type, body = build_batch([_part("GET", "WhoAmI")])
    response = api.post("$batch", data=body.replace(b"\r\n", b"\n"),
                        headers={"Content-Type": content_type})
    assert response.status_code == 200
    assert parse_batch_response(response)[0]["status"] == 200


def test_impersonation_header_on_the_batch_applies_to_its_parts(api, emulator):
    alex = emulator.user("alex.morgan@contoso-demo.com")
    task_id = str(uuid.uuid4())
    content_type, body = build_batch([[_part("POST", "tasks", {"activityid": task_id,
                                                               "subject": "as Alex"})]])
    response = api.post("$batch", data=body, headers={
        "Content-Type": content_type, "CallerObjectId": alex["azureactivedirectoryobjectid"]})
    assert [p["status"] for p in parse_batch_response(response)] == [204]
    stored = emulator.row("tasks", task_id)
    assert stored["_createdby_value"] == stored["_ownerid_value"] == alex["systemuserid"]


# -- the batch's status when a failure stops it ("Handling errors", execute-batch-operations) -----


@pytest.mark.parametrize("failing, status", [
    (lambda: _part("PATCH", f"tasks({uuid.uuid4()})", {"subject": "x"},
                   headers={"If-Match": "*"}), 404),
    (lambda: _part("POST", "nosuchset", {"name": "x"}), 404),
    (lambda: _part("POST", "tasks", {"subject": "x" * 201}), 400),
])
def test_a_stopping_part_makes_the_batch_400_and_keeps_its_own_status(api, failing, status):
    """A Microsoft SDK accepts only 200/202/207/400 from $batch: a part's 404 stays inside."""
    response = post_batch(api, [_part("GET", "WhoAmI"), failing(), _part("GET", "WhoAmI")])
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("multipart/mixed")
    assert [p["status"] for p in parse_batch_response(response)] == [200, status]


@pytest.mark.parametrize("prefer, batch_status", [(None, 400), ("odata.continue-on-error", 200)])
def test_a_failing_change_set_answers_one_error_part_with_its_content_id(api, emulator, prefer,
                                                                         batch_status):
    created, missing = str(uuid.uuid4()), str(uuid.uuid4())
    response = post_batch(api, [
        [_part("POST", "tasks", {"activityid": created, "subject": "rolled back"},
               content_id="1"),
         _part("PATCH", f"tasks({missing})", {"subject": "x"}, content_id="2",
               headers={"If-Match": "*"})],
        _part("GET", "WhoAmI"),
    ], prefer=prefer)
    assert response.status_code == batch_status
    parts = parse_batch_response(response)
    assert (parts[0]["status"], parts[0]["content_id"]) == (404, "2")
    assert json.loads(parts[0]["body"])["error"]["code"] == "0x80040217"
    assert [p["status"] for p in parts[1:]] == ([200] if prefer else [])
    assert emulator.row("tasks", created) is None
