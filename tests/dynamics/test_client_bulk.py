"""Unit tests of the bulk writes' detection rules, for answers the emulator does not give: an
org without the bulk actions (404 for the segment) and the "is not enabled on the entity"
wording reported for some system tables."""

import json

import pytest
import responses

from dynamics import BulkWriteFailed, ValidationFailed
from dynamics.bulk import is_unsupported_answer
from dynamics.errors import MissingObjectError
from tests.dynamics.client_fakes import API

DEFINITIONS = {
    "value": [{"LogicalName": "team", "EntitySetName": "teams", "PrimaryIdAttribute": "teamid"}]
}


def _batch_ok(request):
    boundary = "batchresponse_1"
    changeset = "changesetresponse_1"
    body = (
        f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"
        f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary"
        f"\r\nContent-ID: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n--{changeset}--\r\n"
        f"--{boundary}--\r\n"
    )
    return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, body


@pytest.mark.parametrize(
    "status, code, message",
    [
        (
            404,
            "0x8006088a",
            "Resource not found for the segment 'Microsoft.Dynamics.CRM.CreateMultiple'.",
        ),
        (400, "0x80040203", "CreateMultiple is not enabled on the entity team"),
    ],
)
def test_other_refusals_also_switch_the_table_to_batch(client, mocked, status, code, message):
    mocked.add(responses.GET, f"{API}EntityDefinitions", json=DEFINITIONS)
    mocked.add(
        responses.POST,
        f"{API}teams/Microsoft.Dynamics.CRM.CreateMultiple",
        status=status,
        json={"error": {"code": code, "message": message}},
    )
    mocked.add_callback(responses.POST, f"{API}$batch", callback=_batch_ok)
    result = client.create_many("teams", [{"name": "A"}])
    assert result.used == ["$batch"]
    assert client.bulk_supported("teams") is False
    sent = json.loads(mocked.calls[1].request.body)
    assert sent["Targets"][0]["@odata.type"] == "Microsoft.Dynamics.CRM.team"
    assert sent["Targets"][0]["teamid"] == result.ids[0]


def test_an_ordinary_validation_error_is_raised_not_hidden(client, mocked):
    mocked.add(responses.GET, f"{API}EntityDefinitions", json=DEFINITIONS)
    mocked.add(
        responses.POST,
        f"{API}teams/Microsoft.Dynamics.CRM.CreateMultiple",
        status=400,
        json={"error": {"code": "0x80044331", "message": "A validation error occurred."}},
    )
    with pytest.raises(BulkWriteFailed) as caught:
        client.create_many("teams", [{"name": "A"}])
    assert isinstance(caught.value.cause, ValidationFailed)
    assert client.bulk_supported("teams") is None
    assert len(mocked.calls) == 2


def test_a_404_for_another_reason_is_not_taken_for_a_missing_action():
    error = MissingObjectError("Resource not found for the segment 'teams'.", status=404)
    assert not is_unsupported_answer(error, "CreateMultiple")


def test_chunk_size_must_be_positive(client):
    with pytest.raises(ValueError):
        client.create_many("teams", [{"name": "A"}], chunk_size=0)
