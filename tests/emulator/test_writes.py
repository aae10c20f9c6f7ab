"""Creates, updates, upserts and deletes, with the rules activities and lookups follow."""

from __future__ import annotations

import uuid

import pytest

from .conftest import error_of

pytestmark = pytest.mark.emulator


@pytest.fixture
def contact(emulator) -> dict:
    return emulator.rows("contacts", filter="emailaddress1 ne null", top=1)[0]


def _id_from(response) -> str:
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def test_create_with_a_caller_chosen_id(api, emulator, contact):
    task_id = str(uuid.uuid4())
    response = api.post("tasks", json={
        "activityid": task_id, "subject": "Call back",
        "regardingobjectid_contact_task@odata.bind": f"/contacts({contact['contactid']})"})
    assert response.status_code == 204
    assert response.headers["OData-EntityId"] == f"{emulator.api_url}tasks({task_id})"
    stored = emulator.row("tasks", task_id)
    assert stored["_regardingobjectid_value"] == contact["contactid"]
    assert stored["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == \
        "contact"
    assert stored["statecode"] == 0 and stored["statuscode"] == 2
    assert stored["activitytypecode"] == "task"


def test_create_without_id_generates_one_and_duplicates_are_412(api):
    response = api.post("accounts", json={"name": "Generated Id Ltd"})
    account_id = _id_from(response)
    uuid.UUID(account_id)
    again = api.post("accounts", json={"accountid": account_id, "name": "Again"})
    assert again.status_code == 412
    assert error_of(again)["code"] == "0x80040237"


def test_return_representation_gives_201_with_the_row(api):
    response = api.post("accounts?$select=name,accountnumber", prefer="return=representation",
                        json={"name": "Represented Inc", "accountnumber": "R-1"})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Represented Inc" and body["accountnumber"] == "R-1"
    assert set(body) == {"@odata.context", "@odata.etag", "name", "accountnumber", "accountid"}
    assert "OData-EntityId" not in response.headers


def test_platform_columns_are_filled(api, emulator):
    app_user = emulator.user("portal-integration-app@contoso-demo.com")["systemuserid"]
    account_id = _id_from(api.post("accounts", json={"name": "Audited Ltd",
                                                      "createdon": "2001-01-01T00:00:00Z"}))
    stored = emulator.row("accounts", account_id)
    assert stored["_createdby_value"] == stored["_ownerid_value"] == app_user
    assert stored["_createdonbehalfby_value"] is None
    assert stored["createdon"] != "2001-01-01T00:00:00Z"  # read-only columns are ignored
    assert stored["versionnumber"] > 0


def test_contacts_get_a_computed_full_name(api, emulator):
    contact_id = _id_from(api.post("contacts", json={"firstname": "Ada", "lastname": "Byron"}))
    assert emulator.row("contacts", contact_id)["fullname"] == "Ada Byron"
    api.patch(f"contacts({contact_id})", json={"lastname": "Lovelace"})
    assert emulator.row("contacts", contact_id)["fullname"] == "Ada Lovelace"


def test_upsert_creates_then_updates(api, emulator):
    account_id = str(uuid.uuid4())
    created = api.patch(f"accounts({account_id})", json={"name": "Upserted"})
    assert created.status_code == 204
    assert emulator.row("accounts", account_id)["name"] == "Upserted"
    updated = api.patch(f"accounts({account_id})", json={"name": "Upserted again"},
                        prefer="return=representation")
    assert updated.status_code == 200 and updated.json()["name"] == "Upserted again"


def test_if_match_star_prevents_create_and_if_none_match_star_prevents_update(api, emulator):
    missing = str(uuid.uuid4())
    response = api.patch(f"accounts({missing})", json={"name": "x"}, headers={"If-Match": "*"})
    assert response.status_code == 404
    assert emulator.row("accounts", missing) is None
    created = api.patch(f"accounts({missing})", json={"name": "Once"},
                        headers={"If-None-Match": "*"})
    assert created.status_code == 204
    again = api.patch(f"accounts({missing})", json={"name": "Twice"},
                      headers={"If-None-Match": "*"})
    assert again.status_code == 412
    assert error_of(again)["message"] == "A record with matching key values already exists."
    assert emulator.row("accounts", missing)["name"] == "Once"


def test_optimistic_concurrency_with_etags(api):
    account_id = _id_from(api.post("accounts", json={"name": "Versioned"}))
    etag = api.get(f"accounts({account_id})?$select=name").json()["@odata.etag"]
    assert api.patch(f"accounts({account_id})", json={"name": "v2"},
                     headers={"If-Match": etag}).status_code == 204
    stale = api.patch(f"accounts({account_id})", json={"name": "v3"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert error_of(stale)["code"] == "0x80060882"


def test_delete_and_delete_missing(api, emulator):
    account_id = _id_from(api.post("accounts", json={"name": "Short lived"}))
    assert api.delete(f"accounts({account_id})").status_code == 204
    assert emulator.row("accounts", account_id) is None
    response = api.delete(f"accounts({account_id})")
    assert response.status_code == 404
    assert error_of(response)["code"] == "0x80040217"


def test_binding_a_missing_row_is_404(api):
    response = api.post("tasks", json={
        "subject": "x", "regardingobjectid_contact_task@odata.bind": f"/contacts({uuid.uuid4()})"})
    assert response.status_code == 404
    assert "Does Not Exist" in error_of(response)["message"]


@pytest.mark.parametrize("body, fragment", [
    ({"subject": "x", "nosuch": 1}, "Invalid property 'nosuch' was found in entity"),
    ({"subject": "x", "_regardingobjectid_value": str(uuid.uuid4())},
     "Use Navigation properties instead"),
    ({"subject": "x", "regardingobjectid_widget_task@odata.bind": "/widgets(1)"},
     "undeclared property"),
    ({"subject": "x", "regardingobjectid_contact_task@odata.bind": f"/accounts({uuid.uuid4()})"},
     "does not match the navigation property"),
    ({"subject": 12}, "Cannot convert the literal '12'"),
    ({"subject": "x", "prioritycode": 9}, "outside the valid range"),
    ({"subject": "x", "scheduledend": "next tuesday"}, "Edm.DateTimeOffset"),
])
def test_bad_bodies_are_400(api, body, fragment):
    response = api.post("tasks", json=body)
    assert response.status_code == 400
    assert fragment in error_of(response)["message"]


def test_invalid_json_is_400_not_500(api):
    response = api.post("tasks", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "0x80048d19"


@pytest.mark.parametrize("column, limit", [("subject", 200), ("description", 2000)])
def test_length_limits_are_validation_errors(api, column, limit):
    response = api.post("li_inmails", json={"subject": "ok", column: "x" * (limit + 1)})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "0x80044331"
    assert error["message"] == (f"A validation error occurred.  The length of the '{column}' "
                                f"attribute of the 'li_inmail' entity exceeded the maximum "
                                f"allowed length of '{limit}'.")
    assert api.post("li_inmails", json={"subject": "ok", column: "x" * limit}).status_code == 204


def test_activities_are_created_open_and_closed_with_a_patch(api, emulator, contact):
    inmail_id = str(uuid.uuid4())
    api.post("li_inmails", json={
        "activityid": inmail_id, "subject": "Hello", "statecode": 1, "statuscode": 2,
        "regardingobjectid_contact_li_inmail@odata.bind": f"/contacts({contact['contactid']})"})
    assert emulator.row("li_inmails", inmail_id)["statecode"] == 0  # state in a create: ignored
    closing = api.patch(f"li_inmails({inmail_id})", json={"statecode": 1, "statuscode": 2})
    assert closing.status_code == 204
    stored = emulator.row("li_inmails", inmail_id)
    assert (stored["statecode"], stored["statuscode"]) == (1, 2)
    edit = api.patch(f"li_inmails({inmail_id})", json={"subject": "Edited"})
    assert edit.status_code == 400
    assert "Cannot update Closed or Cancelled Activity" in error_of(edit)["message"]
    assert api.patch(f"li_inmails({inmail_id})", json={"statecode": 0}).status_code == 204
    assert emulator.row("li_inmails", inmail_id)["statuscode"] == 1
    assert api.patch(f"li_inmails({inmail_id})", json={"subject": "Edited"}).status_code == 204


def test_status_must_belong_to_the_state(api):
    task_id = _id_from(api.post("tasks", json={"subject": "x"}))
    response = api.patch(f"tasks({task_id})", json={"statecode": 1, "statuscode": 2})
    assert response.status_code == 400
    assert "is not a valid status code" in error_of(response)["message"]
    assert api.patch(f"tasks({task_id})", json={"statecode": 1, "statuscode": 5}).status_code \
        == 204


def test_owner_bind_and_activity_parties(api, emulator, contact):
    alex = emulator.user("alex.morgan@contoso-demo.com")["systemuserid"]
    message_id = str(uuid.uuid4())
    response = api.post("li_messages", json={
        "activityid": message_id, "subject": "Thread", "description": "Hi",
        "ownerid@odata.bind": f"/systemusers({alex})",
        "regardingobjectid_contact_li_message@odata.bind": f"contacts({contact['contactid']})",
        "li_message_activity_parties": [
            {"partyid_systemuser@odata.bind": f"/systemusers({alex})",
             "participationtypemask": 1},
            {"partyid_contact@odata.bind": f"/contacts({contact['contactid']})",
             "participationtypemask": 2}]})
    assert response.status_code == 204, response.text
    assert emulator.row("li_messages", message_id)["_ownerid_value"] == alex
    body = api.get(f"li_messages({message_id})?$select=subject"
                   "&$expand=li_message_activity_parties").json()
    parties = body["li_message_activity_parties"]
    assert [(p["_partyid_value"], p["participationtypemask"]) for p in parties] == [
        (alex, 1), (contact["contactid"], 2)]


def test_notes_regarding_a_contact(api, emulator, contact):
    note_id = _id_from(api.post("annotations", json={
        "subject": "Met at the fair", "notetext": "Wants a demo in May.",
        "objectid_contact@odata.bind": f"/contacts({contact['contactid']})"}))
    stored = emulator.row("annotations", note_id)
    assert stored["_objectid_value"] == contact["contactid"]
    assert stored["objecttypecode"] == "contact"


def test_single_property_get_put_delete(api):
    account_id = _id_from(api.post("accounts", json={"name": "Prop Co"}))
    assert api.get(f"accounts({account_id})/name").json()["value"] == "Prop Co"
    assert api.request("PUT", f"accounts({account_id})/name",
                       json={"value": "Prop Co 2"}).status_code == 204
    assert api.get(f"accounts({account_id})/name").json()["value"] == "Prop Co 2"
    assert api.delete(f"accounts({account_id})/accountnumber").status_code == 204
    assert api.get(f"accounts({account_id})/accountnumber").status_code == 204
