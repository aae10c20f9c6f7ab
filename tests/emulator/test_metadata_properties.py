"""Every documented property of the metadata types answers `$select`, in Dataverse's shapes.

The names come from Microsoft's Web API metadata reference (EntityMetadata, AttributeMetadata and
its derived types, OneToManyRelationshipMetadata); a connector's schema discovery selects them.
"""

from __future__ import annotations

import pytest

from dynamics_emulator.metadata_shapes import (
    ATTRIBUTE_PROPERTIES,
    DERIVED_PROPERTIES,
    ENTITY_PROPERTIES,
    RELATIONSHIP_PROPERTIES,
)

from .conftest import Api, error_of

pytestmark = pytest.mark.emulator

# From the issue: what a third-party connector selected and got 400 for.
ASKED_BY_A_CONNECTOR = ["CanChangeTrackingBeEnabled", "IsIntersect", "IsAuditEnabled",
                        "HasActivities", "CanCreateAttributes"]
MANAGED = {"Value", "CanBeChanged", "ManagedPropertyLogicalName"}
# Which column of the demo org has each derived type.
COLUMN_OF_TYPE = {
    "StringAttributeMetadata": ("account", "name"),
    "MemoAttributeMetadata": ("task", "description"),
    "IntegerAttributeMetadata": ("account", "numberofemployees"),
    "MoneyAttributeMetadata": ("opportunity", "estimatedvalue"),
    "DateTimeAttributeMetadata": ("opportunity", "estimatedclosedate"),
    "PicklistAttributeMetadata": ("opportunity", "salesstage"),
    "StateAttributeMetadata": ("opportunity", "statecode"),
    "StatusAttributeMetadata": ("opportunity", "statuscode"),
    "LookupAttributeMetadata": ("contact", "parentcustomerid"),
    "UniqueIdentifierAttributeMetadata": ("account", "accountid"),
}


@pytest.fixture
def api(emulator) -> Api:
    return Api(emulator, emulator.token())


def _select(names) -> str:
    return ",".join(sorted(names))


def test_every_entity_metadata_property_answers_select(api):
    body = api.get(f"EntityDefinitions(LogicalName='account')?$select="
                   f"{_select(ENTITY_PROPERTIES)}").json()
    assert set(ENTITY_PROPERTIES) <= set(body)
    for name in ASKED_BY_A_CONNECTOR:
        assert name in body
    assert set(body["CanChangeTrackingBeEnabled"]) == MANAGED
    assert body["CanChangeTrackingBeEnabled"]["ManagedPropertyLogicalName"] == \
        "canchangetrackingbeenabled"
    assert body["IsAuditEnabled"]["Value"] is False and body["IsIntersect"] is False
    assert body["HasActivities"] is True and body["ChangeTrackingEnabled"] is True
    assert set(body["DisplayName"]) == {"LocalizedLabels", "UserLocalizedLabel"}
    assert body["DisplayName"]["LocalizedLabels"][0]["LanguageCode"] == 1033
    assert {p["Name"] for p in body["Privileges"]} >= {"prvReadAccount", "prvCreateAccount"}


def test_the_connector_select_works_on_the_collection_and_filters(api):
    body = api.get(f"EntityDefinitions?$select=LogicalName,{_select(ASKED_BY_A_CONNECTOR)}"
                   "&$filter=IsActivity eq true").json()
    names = {e["LogicalName"] for e in body["value"]}
    assert {"task", "li_inmail"} <= names and "account" not in names
    assert all(set(e) == {"MetadataId", "LogicalName", *ASKED_BY_A_CONNECTOR}
               for e in body["value"])


def test_every_attribute_metadata_property_answers_select(api):
    body = api.get("EntityDefinitions(LogicalName='contact')/Attributes?$select="
                   f"{_select(ATTRIBUTE_PROPERTIES)}").json()
    for item in body["value"]:
        assert set(ATTRIBUTE_PROPERTIES) <= set(item)
        assert set(item["RequiredLevel"]) == MANAGED and set(item["IsAuditEnabled"]) == MANAGED


@pytest.mark.parametrize("type_name", sorted(COLUMN_OF_TYPE))
def test_every_property_of_each_typed_cast_answers_select(api, type_name):
    table, column = COLUMN_OF_TYPE[type_name]
    names = {*ATTRIBUTE_PROPERTIES, *DERIVED_PROPERTIES[type_name]}
    response = api.get(f"EntityDefinitions(LogicalName='{table}')/Attributes(LogicalName="
                       f"'{column}')/Microsoft.Dynamics.CRM.{type_name}?$select={_select(names)}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.type"] == f"#Microsoft.Dynamics.CRM.{type_name}"
    assert names <= set(body)
    collection = api.get(f"EntityDefinitions(LogicalName='{table}')/Attributes/"
                         f"Microsoft.Dynamics.CRM.{type_name}?$select={_select(names)}").json()
    assert column in {item["LogicalName"] for item in collection["value"]}


def test_a_derived_property_needs_its_cast(api):
    response = api.get("EntityDefinitions(LogicalName='account')/Attributes?$select=MaxLength")
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "0x0", "message": "Could not find a property named 'MaxLength' on type "
                                  "'Microsoft.Dynamics.CRM.AttributeMetadata'."}


@pytest.mark.parametrize("path, type_name", [
    ("EntityDefinitions(LogicalName='account')?$select=NoSuchThing", "EntityMetadata"),
    ("EntityDefinitions?$select=LogicalName,NoSuchThing", "EntityMetadata"),
    ("EntityDefinitions(LogicalName='account')?$expand=NoSuchThing", "EntityMetadata"),
    ("EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM."
     "StringAttributeMetadata?$select=NoSuchThing", "StringAttributeMetadata"),
    ("EntityDefinitions(LogicalName='account')/ManyToOneRelationships?$select=NoSuchThing",
     "OneToManyRelationshipMetadata"),
])
def test_unknown_properties_are_still_400(api, path, type_name):
    response = api.get(path)
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "0x0", "message": "Could not find a property named 'NoSuchThing' on type "
                                  f"'Microsoft.Dynamics.CRM.{type_name}'."}


def test_expand_of_attributes_keys_and_relationships(api):
    body = api.get("EntityDefinitions(LogicalName='contact')?$select=LogicalName&$expand="
                   "Attributes($select=LogicalName;$filter=IsPrimaryId eq true),Keys,"
                   "ManyToOneRelationships($select=ReferencedEntity,ReferencingAttribute),"
                   "OneToManyRelationships,ManyToManyRelationships").json()
    assert [a["LogicalName"] for a in body["Attributes"]] == ["contactid"]
    assert body["Keys"] == [] and body["ManyToManyRelationships"] == []
    assert {"ReferencedEntity": "account", "ReferencingAttribute": "parentcustomerid"} in [
        {k: r[k] for k in ("ReferencedEntity", "ReferencingAttribute")}
        for r in body["ManyToOneRelationships"]]
    assert {r["ReferencingEntity"] for r in body["OneToManyRelationships"]} >= {"opportunity"}


def test_relationship_paths_answer_every_documented_property(api):
    body = api.get("EntityDefinitions(LogicalName='account')/OneToManyRelationships?$select="
                   f"{_select(RELATIONSHIP_PROPERTIES)}").json()
    contacts = [r for r in body["value"] if r["ReferencingEntity"] == "contact"]
    assert contacts and set(RELATIONSHIP_PROPERTIES) <= set(contacts[0])
    assert contacts[0]["ReferencedAttribute"] == "accountid"
    assert contacts[0]["RelationshipType"] == "OneToManyRelationship"
    keys = api.get("EntityDefinitions(LogicalName='account')/Keys").json()
    assert keys["value"] == []
