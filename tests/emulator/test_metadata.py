"""EntityDefinitions, attribute casts, option sets, money columns, solution and tracking."""

from __future__ import annotations

import pytest

from .conftest import Api, error_of

pytestmark = pytest.mark.emulator

PICKLISTS = "Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
MONEY = "Attributes/Microsoft.Dynamics.CRM.MoneyAttributeMetadata"


@pytest.fixture(scope="module")
def org(emulator_factory):
    """A demo org of its own: these tests uninstall the solution and switch tracking."""
    return emulator_factory(size="demo")


@pytest.fixture
def api(org) -> Api:
    return Api(org, org.token())


def test_entity_definition_with_select(api):
    response = api.get("EntityDefinitions(LogicalName='opportunity')?$select=LogicalName,"
                       "EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,"
                       "ChangeTrackingEnabled,DisplayName,ObjectTypeCode")
    assert response.status_code == 200
    body = response.json()
    assert body["EntitySetName"] == "opportunities"
    assert body["PrimaryIdAttribute"] == "opportunityid"
    assert body["PrimaryNameAttribute"] == "name"
    assert body["ChangeTrackingEnabled"] is True
    assert body["ObjectTypeCode"] == 3
    assert body["DisplayName"]["UserLocalizedLabel"]["Label"] == "Opportunity"
    assert set(body) == {"@odata.context", "MetadataId", "LogicalName", "EntitySetName",
                         "PrimaryIdAttribute", "PrimaryNameAttribute", "ChangeTrackingEnabled",
                         "DisplayName", "ObjectTypeCode"}


def test_entity_definitions_filtered_by_change_tracking_and_name(api):
    body = api.get("EntityDefinitions?$select=LogicalName"
                   "&$filter=ChangeTrackingEnabled eq true").json()
    assert {e["LogicalName"] for e in body["value"]} == {"account", "contact", "opportunity",
                                                         "systemuser", "transactioncurrency"}
    body = api.get("EntityDefinitions?$select=LogicalName,EntitySetName"
                   "&$filter=LogicalName eq 'li_inmail'").json()
    assert body["value"] == [{"MetadataId": body["value"][0]["MetadataId"],
                              "LogicalName": "li_inmail", "EntitySetName": "li_inmails"}]


def test_attributes_and_a_single_attribute(api):
    body = api.get("EntityDefinitions(LogicalName='contact')/Attributes"
                   "?$select=LogicalName,AttributeType").json()
    types = {a["LogicalName"]: a["AttributeType"] for a in body["value"]}
    assert types["emailaddress1"] == "String" and types["parentcustomerid"] == "Customer"
    single = api.get("EntityDefinitions(LogicalName='account')/Attributes(LogicalName="
                     "'emailaddress1')").json()
    assert single["MaxLength"] == 100
    assert single["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    strings = api.get("EntityDefinitions(LogicalName='opportunity')/Attributes?$select="
                      "LogicalName&$filter=AttributeType eq "
                      "Microsoft.Dynamics.CRM.AttributeTypeCode'String'").json()["value"]
    assert "stepname" in {a["LogicalName"] for a in strings}


def test_picklist_cast_with_option_sets_in_order(api):
    body = api.get(f"EntityDefinitions(LogicalName='opportunity')/{PICKLISTS}"
                   "?$select=LogicalName,DisplayName&$expand=OptionSet").json()
    picklists = {a["LogicalName"]: a for a in body["value"]}
    assert "statecode" not in picklists  # State has its own cast
    stage = picklists["salesstage"]
    assert stage["DisplayName"]["UserLocalizedLabel"]["Label"] == "Sales Stage"
    options = [(o["Value"], o["Label"]["UserLocalizedLabel"]["Label"])
               for o in stage["OptionSet"]["Options"]]
    assert options == [(0, "Qualify"), (1, "Develop"), (2, "Propose"), (3, "Close")]
    single = api.get("EntityDefinitions(LogicalName='opportunity')/Attributes(LogicalName="
                     "'salesstage')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
                     "?$select=LogicalName&$expand=OptionSet($select=Options,Name),"
                     "GlobalOptionSet($select=Options)").json()
    assert single["GlobalOptionSet"]["Name"] == "opportunity_salesstage"
    assert len(single["OptionSet"]["Options"]) == 4


def test_state_and_status_casts(api):
    states = api.get("EntityDefinitions(LogicalName='task')/Attributes/Microsoft.Dynamics.CRM."
                     "StateAttributeMetadata?$select=LogicalName&$expand=OptionSet").json()
    options = states["value"][0]["OptionSet"]["Options"]
    assert [(o["Value"], o["DefaultStatus"]) for o in options] == [(0, 2), (1, 5), (2, 6)]
    statuses = api.get("EntityDefinitions(LogicalName='li_message')/Attributes/Microsoft.Dynamics."
                       "CRM.StatusAttributeMetadata?$expand=OptionSet").json()
    assert {(o["Value"], o["State"]) for o in statuses["value"][0]["OptionSet"]["Options"]} == {
        (1, 0), (2, 1), (3, 2), (4, 3)}


def test_money_cast_lists_the_custom_won_amount(api):
    body = api.get(f"EntityDefinitions(LogicalName='opportunity')/{MONEY}"
                   "?$select=LogicalName,DisplayName").json()
    labels = {a["LogicalName"]: a["DisplayName"]["UserLocalizedLabel"]["Label"]
              for a in body["value"]}
    assert labels["estimatedvalue"] == "Est. Revenue"
    assert labels["actualvalue"] == "Actual Revenue"
    assert labels["new_wonamount"] == "Won Amount"
    assert {"estimatedvalue_base", "actualvalue_base", "new_wonamount_base"} <= set(labels)


def test_absent_tables_and_attributes_are_404(api):
    response = api.get("EntityDefinitions(LogicalName='nosuchtable')?$select=LogicalName")
    assert response.status_code == 404
    assert error_of(response)["code"] == "0x80040217"
    response = api.get("EntityDefinitions(LogicalName='account')/Attributes(LogicalName='nope')")
    assert response.status_code == 404
    response = api.get("EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics."
                       "CRM.NoSuchAttributeMetadata")
    assert response.status_code == 404


def test_global_option_set(api):
    body = api.get("GlobalOptionSetDefinitions(Name='opportunity_salesstage')").json()
    assert [o["Value"] for o in body["Options"]] == [0, 1, 2, 3]


def test_uninstalling_the_linkedin_solution(api, org):
    assert api.post("li_inmails", json={"subject": "kept?"}).status_code == 204
    org.set_linkedin_solution(False)
    try:
        assert api.get("li_inmails?$select=subject").status_code == 404
        assert api.get("EntityDefinitions(LogicalName='li_message')").status_code == 404
        names = {e["LogicalName"] for e in api.get("EntityDefinitions?$select=LogicalName")
                 .json()["value"]}
        assert "li_inmail" not in names and "task" in names
        assert api.post("li_inmails", json={"subject": "x"}).status_code == 404
    finally:
        org.set_linkedin_solution(True)
    assert api.get("li_inmails?$select=subject").json()["value"] == []  # data lost, as in D365


def test_switching_change_tracking_is_visible_in_metadata(api, org):
    org.set_change_tracking("opportunity", False)
    try:
        body = api.get("EntityDefinitions(LogicalName='opportunity')?$select="
                       "ChangeTrackingEnabled").json()
        assert body["ChangeTrackingEnabled"] is False
        response = api.get("opportunities?$select=name", prefer="odata.track-changes")
        assert response.status_code == 400
    finally:
        org.set_change_tracking("opportunity", True)


def test_changing_a_choice_columns_options_shows_in_metadata_and_writes(api, org):
    stages = [{"value": 0, "label": "Qualify"}, {"value": 1, "label": "Develop"},
              {"value": 5, "label": "Negotiate"}, {"value": 3, "label": "Close"}]
    assert org.set_options("opportunity", "salesstage", stages) == stages
    try:
        body = api.get(f"EntityDefinitions(LogicalName='opportunity')/{PICKLISTS}"
                       "?$select=LogicalName&$expand=OptionSet").json()
        stage = next(a for a in body["value"] if a["LogicalName"] == "salesstage")
        assert [(o["Value"], o["Label"]["UserLocalizedLabel"]["Label"])
                for o in stage["OptionSet"]["Options"]] == [
            (0, "Qualify"), (1, "Develop"), (5, "Negotiate"), (3, "Close")]
        body = api.get("GlobalOptionSetDefinitions(Name='opportunity_salesstage')").json()
        assert [o["Value"] for o in body["Options"]] == [0, 1, 5, 3]
        account = org.rows("accounts", top=1)[0]["accountid"]
        bind = {"name": "Stage test", "customerid_account@odata.bind": f"/accounts({account})"}
        assert api.post("opportunities", json=bind | {"salesstage": 5}).status_code == 204
        refused = api.post("opportunities", json=bind | {"salesstage": 2})
        assert refused.status_code == 400
        assert "Accepted Values: 0,1,5,3" in error_of(refused)["message"]
        assert org.options("opportunity", "salesstage") == stages
    finally:
        seeded = org.reset_options("opportunity", "salesstage")
    assert [o["label"] for o in seeded] == ["Qualify", "Develop", "Propose", "Close"]


@pytest.mark.parametrize(("path", "body", "status"), [
    ("options/opportunity/name", {"options": [{"value": 1, "label": "x"}]}, 400),
    ("options/opportunity/salesstage", {"options": []}, 400),
    ("options/opportunity/salesstage", {"options": [{"value": "1", "label": "x"}]}, 400),
    ("options/opportunity/salesstage",
     {"options": [{"value": 1, "label": "x"}, {"value": 1, "label": "y"}]}, 400),
    ("options/opportunity/nosuchcolumn", {"options": [{"value": 1, "label": "x"}]}, 404),
])
def test_bad_option_changes_are_refused(org, path, body, status):
    response = org.http.put(f"{org.control_url}/{path}", json=body, timeout=30)
    assert response.status_code == status
    assert response.json()["error"]
    assert [o["value"] for o in org.options("opportunity", "salesstage")] == [0, 1, 2, 3]
