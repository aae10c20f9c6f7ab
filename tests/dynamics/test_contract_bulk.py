"""Contract: create_many / update_many / upsert_many against the emulator over HTTPS.

Bulk messages where the table has them, `$batch` change sets where it does not (detected from
the first answer, remembered per entity set), chunking, and all-or-nothing chunks.
"""

import uuid

import pytest

from dynamics import BulkWriteFailed, MissingObjectError, ValidationFailed
from tests.dynamics.contract_support import app_client

pytestmark = pytest.mark.emulator


@pytest.fixture
def crm(emulator_clean):
    return app_client(emulator_clean)


def _marker() -> str:
    return f"Many{uuid.uuid4().hex[:10]}"


def _api_requests(emulator) -> int:
    return emulator.stats()["by_kind"].get("api", 0)


def test_create_many_uses_create_multiple_in_chunks(crm, emulator_clean):
    marker = _marker()
    rows = [{"lastname": marker, "firstname": str(n)} for n in range(25)]
    result = crm.create_many("contacts", rows, chunk_size=10)
    assert result.used == ["CreateMultiple"] * 3
    assert result.requests == 3
    assert len(result.ids) == 25
    stored = emulator_clean.rows("contacts", filter=f"lastname eq '{marker}'")
    assert sorted(int(row["firstname"]) for row in stored) == list(range(25))
    by_id = {row["contactid"]: row["firstname"] for row in stored}
    assert [by_id[row_id] for row_id in result.ids] == [str(n) for n in range(25)]


def test_create_many_sends_one_metadata_read_per_table_for_the_clients_life(crm, emulator_clean):
    emulator_clean.reset_stats()
    crm.create_many("contacts", [{"lastname": _marker()}])
    crm.create_many("contacts", [{"lastname": _marker()}])
    assert _api_requests(emulator_clean) == 3  # EntityDefinitions once, two CreateMultiple


def test_update_many_and_upsert_many(crm, emulator_clean):
    marker = _marker()
    ids = crm.create_many("contacts", [{"lastname": marker}, {"lastname": marker}]).ids
    updated = crm.update_many(
        "contacts", [{"contactid": ids[0], "jobtitle": "A"}, {"contactid": ids[1], "jobtitle": "B"}]
    )
    assert updated.used == ["UpdateMultiple"] and updated.ids == ids
    new_id = str(uuid.uuid4())
    upserted = crm.upsert_many(
        "contacts",
        [{"contactid": ids[0], "jobtitle": "C"}, {"contactid": new_id, "lastname": marker}],
    )
    assert upserted.used == ["UpsertMultiple"] and upserted.ids == [ids[0], new_id]
    assert emulator_clean.row("contacts", ids[0])["jobtitle"] == "C"
    assert emulator_clean.row("contacts", ids[1])["jobtitle"] == "B"
    assert emulator_clean.row("contacts", new_id)["lastname"] == marker


def test_a_failing_chunk_writes_nothing_and_earlier_chunks_stay(crm, emulator_clean):
    marker = _marker()
    rows = [{"lastname": marker}, {"lastname": marker}, {"lastname": marker, "nosuch": 1}]
    with pytest.raises(BulkWriteFailed) as caught:
        crm.create_many("contacts", rows, chunk_size=2)
    error = caught.value
    assert isinstance(error.cause, ValidationFailed)
    assert error.chunk == 1 and len(error.written_ids) == 2
    assert len(emulator_clean.rows("contacts", filter=f"lastname eq '{marker}'")) == 2


def test_tables_without_the_messages_fall_back_to_batch_and_it_is_remembered(crm, emulator_clean):
    contact = emulator_clean.rows("contacts", top=1)[0]["contactid"]
    bind = f"/contacts({contact})"
    rows = [
        {"subject": f"Task {n}", "regardingobjectid_contact_task@odata.bind": bind}
        for n in range(5)
    ]
    emulator_clean.reset_stats()
    first = crm.create_many("tasks", rows[:3])
    assert first.used == ["$batch"]
    assert first.requests == 2  # the refused CreateMultiple, then one $batch
    assert crm.bulk_supported("tasks") is False
    second = crm.create_many("tasks", rows[3:])
    assert second.used == ["$batch"] and second.requests == 1
    assert _api_requests(emulator_clean) == 1 + 2 + 1  # metadata, first call, second call
    for row_id in first.ids + second.ids:
        assert emulator_clean.row("tasks", row_id)["_regardingobjectid_value"] == contact


def test_the_batch_fallback_is_all_or_nothing_per_chunk(crm, emulator_clean):
    marker = _marker()
    missing = str(uuid.uuid4())
    rows = [
        {"subject": marker},
        {"subject": marker, "regardingobjectid_contact_task@odata.bind": f"/contacts({missing})"},
    ]
    with pytest.raises(BulkWriteFailed) as caught:
        crm.create_many("tasks", rows)
    assert caught.value.status == 404  # the bound contact does not exist
    assert not isinstance(caught.value.cause, ValidationFailed)
    assert emulator_clean.rows("tasks", filter=f"subject eq '{marker}'") == []


def test_update_many_needs_primary_keys(crm):
    with pytest.raises(ValueError, match="contactid"):
        crm.update_many("contacts", [{"jobtitle": "x"}])


def test_an_unknown_entity_set_is_a_missing_object(crm):
    with pytest.raises(MissingObjectError):
        crm.create_many("nosuchthings", [{"name": "x"}])
