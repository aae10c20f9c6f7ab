"""Bulk operation messages: CreateMultiple, UpdateMultiple, UpsertMultiple (bulk-operations.md).

Success with the documented shapes, all-or-nothing failure on standard tables, the documented
limits (no record count limit; one request for service protection), per-table availability and
the bound action inside a `$batch` change set.
"""

from __future__ import annotations

import uuid

import pytest

from .conftest import error_of
from .test_batch import _part, parse_batch_response, post_batch

pytestmark = pytest.mark.emulator

CRM = "Microsoft.Dynamics.CRM."
API = "/api/data/v9.2/"


def _contact(lastname: str, **columns) -> dict:
    return {"lastname": lastname, "@odata.type": f"{CRM}contact", **columns}


def _marker() -> str:
    return f"Bulk{uuid.uuid4().hex[:10]}"


def test_create_multiple_returns_the_ids_in_order(api, emulator):
    marker = _marker()
    chosen = str(uuid.uuid4())
    response = api.post(f"contacts/{CRM}CreateMultiple", json={"Targets": [
        _contact(marker, firstname="One"),
        _contact(marker, firstname="Two", contactid=chosen),
        _contact(marker, firstname="Three", emailaddress1="three@example.com"),
    ]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == (f"{emulator.api_url}$metadata#"
                                      f"{CRM}CreateMultipleResponse")
    ids = body["Ids"]
    assert len(ids) == 3 and ids[1] == chosen
    stored = [emulator.row("contacts", row_id) for row_id in ids]
    assert [row["firstname"] for row in stored] == ["One", "Two", "Three"]
    assert stored[0]["fullname"] == f"One {marker}"  # the same platform rules as a single POST


def test_update_multiple_answers_204_and_changes_every_row(api, emulator):
    marker = _marker()
    ids = api.post(f"contacts/{CRM}CreateMultiple", json={"Targets": [
        _contact(marker), _contact(marker)]}).json()["Ids"]
    response = api.post(f"contacts/{CRM}UpdateMultiple", json={"Targets": [
        {"@odata.type": f"{CRM}contact", "contactid": ids[0], "jobtitle": "Buyer"},
        {"@odata.type": f"{CRM}contact", "contactid": ids[1], "jobtitle": "Owner"},
    ]})
    assert response.status_code == 204, response.text
    assert [emulator.row("contacts", i)["jobtitle"] for i in ids] == ["Buyer", "Owner"]


def test_upsert_multiple_creates_and_updates(api, emulator):
    marker = _marker()
    existing = api.post(f"contacts/{CRM}CreateMultiple",
                        json={"Targets": [_contact(marker)]}).json()["Ids"][0]
    new_id = str(uuid.uuid4())
    response = api.post(f"contacts/{CRM}UpsertMultiple", json={"Targets": [
        _contact(marker, contactid=existing, jobtitle="Updated"),
        {**_contact(marker, jobtitle="Created"), "@odata.id": f"contacts({new_id})"},
    ]})
    assert response.status_code == 200, response.text
    assert response.json()["Ids"] == [existing, new_id]
    assert emulator.row("contacts", existing)["jobtitle"] == "Updated"
    assert emulator.row("contacts", new_id)["jobtitle"] == "Created"


def test_one_bad_record_fails_the_whole_request_and_writes_nothing(api, emulator):
    marker = _marker()
    response = api.post(f"contacts/{CRM}CreateMultiple", json={"Targets": [
        _contact(marker), _contact(marker), _contact(marker, lastname_bogus=1)]})
    assert response.status_code == 400
    assert "lastname_bogus" in error_of(response)["message"]
    assert emulator.rows("contacts", filter=f"lastname eq '{marker}'") == []


def test_update_multiple_of_a_missing_row_rolls_back_the_others(api, emulator):
    marker = _marker()
    ids = api.post(f"contacts/{CRM}CreateMultiple",
                   json={"Targets": [_contact(marker)]}).json()["Ids"]
    missing = str(uuid.uuid4())
    response = api.post(f"contacts/{CRM}UpdateMultiple", json={"Targets": [
        {"@odata.type": f"{CRM}contact", "contactid": ids[0], "jobtitle": "Never"},
        {"@odata.type": f"{CRM}contact", "contactid": missing, "jobtitle": "Never"},
    ]})
    assert response.status_code == 404
    assert error_of(response) == {"code": "0x80040217",
                                  "message": f"contact With Id = {missing} Does Not Exist"}
    assert emulator.row("contacts", ids[0]).get("jobtitle") is None


def test_a_duplicate_id_inside_one_request_is_412_and_nothing_is_created(api, emulator):
    same = str(uuid.uuid4())
    response = api.post(f"contacts/{CRM}CreateMultiple", json={"Targets": [
        _contact("Twin", contactid=same), _contact("Twin", contactid=same)]})
    assert response.status_code == 412
    assert error_of(response)["code"] == "0x80040237"
    assert emulator.rows("contacts", filter=f"contactid eq {same}") == []


@pytest.mark.parametrize("targets, fragment", [
    ([{"lastname": "No type"}], "without a type name"),
    ([{"lastname": "X", "@odata.type": f"{CRM}account"}], "must be of type 'contact'"),
    ([{"lastname": "X", "@odata.type": f"{CRM}nosuchtable"}], "could not be resolved"),
    ([], "at least one record"),
    ("not a list", "JSON array"),
])
def test_malformed_targets_are_400(api, targets, fragment):
    response = api.post(f"contacts/{CRM}CreateMultiple", json={"Targets": targets})
    assert response.status_code == 400
    assert fragment in error_of(response)["message"]


def test_a_body_without_targets_is_400(api):
    response = api.post(f"contacts/{CRM}CreateMultiple", json={"Records": []})
    assert response.status_code == 400
    assert "'Targets'" in error_of(response)["message"]


def test_update_multiple_needs_the_primary_key(api):
    response = api.post(f"contacts/{CRM}UpdateMultiple", json={"Targets": [_contact("X")]})
    assert response.status_code == 400
    assert "contactid" in error_of(response)["message"]


@pytest.mark.parametrize("entity_set, logical", [
    ("tasks", "task"), ("annotations", "annotation"), ("li_inmails", "li_inmail"),
    ("systemusers", "systemuser")])
@pytest.mark.parametrize("message", ["CreateMultiple", "UpdateMultiple", "UpsertMultiple"])
def test_tables_without_the_messages_answer_what_dataverse_answers(api, emulator, entity_set,
                                                                   logical, message):
    before = emulator.counts()[entity_set]
    response = api.post(f"{entity_set}/{CRM}{message}", json={"Targets": [
        {"subject": "x", "@odata.type": f"{CRM}{logical}"}]})
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "0x80040800",
        "message": f"The '{message}' method does not support entities of type '{logical}'. "
                   "MessageProcessorCache returned MessageProcessor.Empty."}
    assert emulator.counts()[entity_set] == before


@pytest.mark.parametrize("entity_set", ["accounts", "contacts", "leads", "opportunities"])
def test_the_documented_tables_have_the_messages(api, entity_set):
    logical = {"opportunities": "opportunity"}.get(entity_set, entity_set[:-1])
    name = {"account": "name", "contact": "lastname", "lead": "lastname",
            "opportunity": "name"}[logical]
    response = api.post(f"{entity_set}/{CRM}CreateMultiple", json={"Targets": [
        {name: "Bulk", "@odata.type": f"{CRM}{logical}"}]})
    assert response.status_code == 200, response.text
    # Other tests read every seeded opportunity's columns: leave the shared org as it was.
    assert api.delete(f"{entity_set}({response.json()['Ids'][0]})").status_code == 204


def test_get_is_405(api):
    assert api.get(f"contacts/{CRM}CreateMultiple").status_code == 405


def test_unknown_actions_stay_404(api):
    response = api.post(f"contacts/{CRM}DeleteMultiple", json={"Targets": []})
    assert response.status_code == 404


def test_privileges_apply(api_as):
    reader = api_as("readonly@contoso-demo.com")
    response = reader.post(f"contacts/{CRM}CreateMultiple", json={"Targets": [_contact("No")]})
    assert response.status_code == 403
    assert error_of(response)["code"] == "0x80040220"


def test_no_record_count_limit_and_one_request_for_service_protection(api, emulator_clean):
    """The docs set no limit on the number of records; each bulk request counts once."""
    marker = _marker()
    targets = [_contact(marker, firstname=str(n)) for n in range(2500)]
    before = emulator_clean.service_protection()["users"]
    response = api.post(f"contacts/{CRM}CreateMultiple", json={"Targets": targets})
    assert response.status_code == 200
    assert len(set(response.json()["Ids"])) == 2500
    after = emulator_clean.service_protection()["users"]
    user = next(iter(after))
    counted = after[user]["requests_in_window"] - before.get(user, {}).get(
        "requests_in_window", 0)
    assert counted == 1


def test_create_multiple_inside_a_batch_change_set_rolls_back_with_it(api, emulator):
    marker = _marker()
    missing = str(uuid.uuid4())
    response = post_batch(api, [[
        _part("POST", f"{API}contacts/{CRM}CreateMultiple",
              {"Targets": [_contact(marker), _contact(marker)]}, content_id="1"),
        _part("PATCH", f"{API}contacts({missing})", {"jobtitle": "x"}, content_id="2",
              headers={"If-Match": "*"}),
    ]])
    parts = parse_batch_response(response)
    assert parts[-1]["status"] == 404
    assert emulator.rows("contacts", filter=f"lastname eq '{marker}'") == []


def test_create_multiple_inside_a_batch_succeeds(api, emulator):
    marker = _marker()
    response = post_batch(api, [[
        _part("POST", f"{API}contacts/{CRM}CreateMultiple",
              {"Targets": [_contact(marker), _contact(marker)]}, content_id="1")]])
    assert response.status_code == 200
    parts = parse_batch_response(response)
    assert parts[0]["status"] == 200
    assert len(emulator.rows("contacts", filter=f"lastname eq '{marker}'")) == 2
