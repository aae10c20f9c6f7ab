"""Microsoft's Dataverse SDK for Python (PowerPlatform-Dataverse-Client), unmodified, against
the emulator: what the SDK exposes of reads, writes, bulk, $batch and table metadata.

Each test uses only the SDK's public API; assertions on what was stored go through the
emulator's control endpoint. Where the SDK lacks an operation the module docstring of the
runner (scripts/sdk_contract.sh) lists it.
"""

from __future__ import annotations

import uuid

import pytest
from PowerPlatform.Dataverse.core.errors import HttpError


def _marker() -> str:
    return f"Sdk{uuid.uuid4().hex[:10]}"


def _stored(control, entity_set: str, filter: str) -> list[dict]:  # noqa: A002
    return control("GET", f"rows/{entity_set}", params={"filter": filter})["value"]


# -- reads ------------------------------------------------------------------------------------

def test_paged_reads_follow_next_links(client):
    pages = list(client.records.list_pages("contact", select=["fullname"], page_size=100))
    assert len(pages) >= 4  # the demo org has 400 contacts
    sizes = [len(list(page)) for page in pages]
    assert all(size == 100 for size in sizes[:-1])
    everything = client.records.list("contact", select=["fullname"], page_size=150)
    assert len(list(everything)) == sum(sizes)


def test_filtered_ordered_query_with_the_builder(client):
    from PowerPlatform.Dataverse.models import col

    rows = list(client.query.builder("opportunity").select("name", "estimatedvalue")
                .where(col("statecode") == 0).order_by("estimatedvalue", descending=True)
                .top(5).execute())
    assert len(rows) == 5
    values = [row["estimatedvalue"] for row in rows]
    assert values == sorted(values, reverse=True)


def test_count(client):
    result = client.records.list("account", select=["name"], count=True, top=3)
    assert len(list(result)) == 3


# -- single-row writes -------------------------------------------------------------------------

def test_create_retrieve_update_delete(client):
    marker = _marker()
    account_id = client.records.create("account", {"name": marker, "telephone1": "555-0100"})
    uuid.UUID(account_id)
    row = client.records.retrieve("account", account_id, select=["name", "telephone1"])
    assert row is not None and row["name"] == marker and row["telephone1"] == "555-0100"
    client.records.update("account", account_id, {"telephone1": "555-0199"})
    assert client.records.retrieve("account", account_id, select=["telephone1"])[
        "telephone1"] == "555-0199"
    client.records.delete("account", account_id)
    assert client.records.retrieve("account", account_id) is None


def test_an_error_answer_becomes_the_sdks_http_error(client):
    with pytest.raises(HttpError) as caught:
        client.records.create("account", {"nosuchcolumn": 1})
    assert caught.value.status_code == 400


# -- bulk --------------------------------------------------------------------------------------

def test_bulk_create_uses_create_multiple_and_returns_the_ids(client, control):
    marker = _marker()
    ids = client.records.create("contact", [{"lastname": marker, "firstname": str(n)}
                                             for n in range(30)])
    assert len(ids) == 30
    stored = _stored(control, "contacts", f"lastname eq '{marker}'")
    assert sorted(row["contactid"] for row in stored) == sorted(ids)


def test_bulk_update_uses_update_multiple(client, control):
    marker = _marker()
    ids = client.records.create("contact", [{"lastname": marker} for _ in range(3)])
    client.records.update("contact", ids, {"jobtitle": "Buyer"})
    stored = _stored(control, "contacts", f"lastname eq '{marker}'")
    assert {row["jobtitle"] for row in stored} == {"Buyer"}


def test_bulk_create_is_all_or_nothing(client, control):
    marker = _marker()
    with pytest.raises(HttpError):
        client.records.create("contact", [{"lastname": marker}, {"lastname": marker,
                                                                  "nosuchcolumn": 1}])
    assert _stored(control, "contacts", f"lastname eq '{marker}'") == []


# -- $batch ------------------------------------------------------------------------------------

def test_batch_change_set_with_a_content_id_reference(client, control):
    marker = _marker()
    batch = client.batch.new()
    with batch.changeset() as changeset:
        account_ref = changeset.records.create("account", {"name": marker})
        changeset.records.create("contact", {"lastname": marker,
                                             "parentcustomerid_account@odata.bind": account_ref})
        changeset.records.update("account", account_ref, {"telephone1": "555-0111"})
    result = batch.execute()
    assert not result.has_errors, [(r.status_code, r.error_message) for r in result.responses]
    account = _stored(control, "accounts", f"name eq '{marker}'")[0]
    contact = _stored(control, "contacts", f"lastname eq '{marker}'")[0]
    assert contact["_parentcustomerid_value"] == account["accountid"]
    assert account["telephone1"] == "555-0111"


# A failed change set stops the batch: Dataverse answers 400 for the batch (the failing part keeps
# its own status inside), which the SDK accepts (it refuses anything but 200/202/207/400).
def test_a_failing_change_set_rolls_back(client, control):
    marker = _marker()
    batch = client.batch.new()
    with batch.changeset() as changeset:
        changeset.records.create("account", {"name": marker})
        changeset.records.update("account", str(uuid.uuid4()), {"name": "missing"})
    result = batch.execute()
    assert result.has_errors
    assert _stored(control, "accounts", f"name eq '{marker}'") == []


def test_continue_on_error_runs_every_part(client, control):
    marker = _marker()
    batch = client.batch.new()
    batch.records.create("account", {"name": marker})
    batch.records.create("account", {"nosuchcolumn": 1})
    batch.records.create("account", {"name": marker})
    result = batch.execute(continue_on_error=True)
    assert [r.is_success for r in result.responses] == [True, False, True]
    assert result.failed[0].status_code == 400
    assert len(_stored(control, "accounts", f"name eq '{marker}'")) == 2


def test_without_continue_on_error_the_batch_stops_at_the_failure(client, control):
    marker = _marker()
    batch = client.batch.new()
    batch.records.create("account", {"name": marker})
    batch.records.create("account", {"nosuchcolumn": 1})
    batch.records.create("account", {"name": marker})
    result = batch.execute()
    assert result.has_errors
    assert len(_stored(control, "accounts", f"name eq '{marker}'")) == 1


def test_batch_reads(client):
    batch = client.batch.new()
    batch.records.list("account", select=["name"], top=2)
    result = batch.execute()
    assert not result.has_errors
    assert len(result.responses[0].data["value"]) == 2


# -- table metadata ----------------------------------------------------------------------------

def test_table_metadata(client):
    info = client.tables.get("account")
    assert info is not None
    assert info["entity_set_name"] == "accounts"
    assert info["primary_id_attribute"] == "accountid"
    assert client.tables.get("nosuchtable") is None


def test_list_tables(client):
    names = {table["LogicalName"] for table in client.tables.list()}
    assert {"account", "contact", "opportunity", "task"} <= names


def test_list_and_get_columns(client):
    columns = client.tables.list_columns("opportunity")
    names = {column["LogicalName"] for column in columns}
    assert {"name", "estimatedvalue", "salesstage"} <= names
    column = client.tables.get_column("account", "name")
    assert column is not None and column["LogicalName"] == "name"


# -- more of what the SDK exposes --------------------------------------------------------------

def test_expand_and_formatted_values(client):
    rows = list(client.records.list(
        "contact", select=["fullname"], expand=["parentcustomerid_account($select=name)"],
        filter="_parentcustomerid_value ne null", top=3,
        include_annotations="OData.Community.Display.V1.FormattedValue"))
    assert rows and all("parentcustomerid_account" in row for row in rows)


def test_delete_many_one_by_one(client, control):
    marker = _marker()
    ids = client.records.create("contact", [{"lastname": marker} for _ in range(3)])
    client.records.delete("contact", ids, use_bulk_delete=False)
    assert _stored(control, "contacts", f"lastname eq '{marker}'") == []


def test_bulk_create_inside_a_batch(client, control):
    marker = _marker()
    batch = client.batch.new()
    batch.records.create("contact", [{"lastname": marker}, {"lastname": marker}])
    result = batch.execute()
    assert not result.has_errors, [(r.status_code, r.error_message) for r in result.responses]
    assert len(_stored(control, "contacts", f"lastname eq '{marker}'")) == 2


def test_bulk_create_on_a_table_without_create_multiple_is_refused_as_dataverse_does(client):
    with pytest.raises(HttpError) as caught:
        client.records.create("task", [{"subject": "a"}, {"subject": "b"}])
    assert caught.value.status_code == 400
    assert "does not support entities of type 'task'" in caught.value.message


def test_dataframe_round_trip(client, control):
    import pandas as pd

    marker = _marker()
    frame = pd.DataFrame([{"lastname": marker, "firstname": "A"},
                          {"lastname": marker, "firstname": "B"}])
    ids = client.dataframe.create("contact", frame)
    assert len(ids) == 2
    from PowerPlatform.Dataverse.models import col

    read = (client.query.builder("contact").select("firstname", "lastname")
            .where(col("lastname") == marker).execute().to_dataframe())
    assert sorted(read["firstname"]) == ["A", "B"]
