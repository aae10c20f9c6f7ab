"""Metadata queries: table definitions, choices, money columns, the LinkedIn solution."""

import pytest

from dynamics import Column, MalformedResponse, MissingObjectError, Option
from tests.dynamics.client_fakes import API

OPPORTUNITY = f"{API}EntityDefinitions(LogicalName='opportunity')"


def _label(text):
    return {
        "LocalizedLabels": [{"Label": text, "LanguageCode": 1033}],
        "UserLocalizedLabel": {"Label": text, "LanguageCode": 1033},
    }


def _missing(mocked, logical_name):
    mocked.add(
        "GET",
        f"{API}EntityDefinitions(LogicalName='{logical_name}')",
        status=404,
        json={"error": {"code": "0x80040217", "message": f"Could not find {logical_name}"}},
    )


def test_entity_definition_and_change_tracking_flag(client, mocked):
    mocked.add(
        "GET",
        OPPORTUNITY,
        json={
            "LogicalName": "opportunity",
            "EntitySetName": "opportunities",
            "ChangeTrackingEnabled": True,
        },
    )
    definition = client.entity_definition("opportunity", select=["LogicalName", "EntitySetName"])
    assert definition["EntitySetName"] == "opportunities"
    assert mocked.calls[0].request.url == f"{OPPORTUNITY}?$select=LogicalName,EntitySetName"
    assert client.change_tracking_enabled("opportunity") is True


def test_a_missing_table(client, mocked):
    _missing(mocked, "li_inmail")
    assert client.table_exists("li_inmail") is False
    with pytest.raises(MissingObjectError) as caught:
        client.entity_definition("li_inmail")
    assert caught.value.table == "li_inmail"
    assert caught.value.kind == "missing"


def test_linkedin_solution_needs_both_tables(client, mocked):
    mocked.add(
        "GET", f"{API}EntityDefinitions(LogicalName='li_inmail')", json={"LogicalName": "li_inmail"}
    )
    mocked.add(
        "GET",
        f"{API}EntityDefinitions(LogicalName='li_message')",
        json={"LogicalName": "li_message"},
    )
    assert client.linkedin_solution_installed() is True
    mocked.replace(
        "GET",
        f"{API}EntityDefinitions(LogicalName='li_message')",
        status=404,
        json={"error": {"code": "0x80040217", "message": "Could not find li_message"}},
    )
    assert client.linkedin_solution_installed() is False


def test_picklist_options_in_metadata_order(client, mocked):
    mocked.add(
        "GET",
        f"{OPPORTUNITY}/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        json={
            "value": [
                {"LogicalName": "opportunityratingcode", "OptionSet": {"Options": []}},
                {
                    "LogicalName": "salesstage",
                    "DisplayName": _label("Sales Stage"),
                    "OptionSet": {
                        "Options": [
                            {"Value": 0, "Label": _label("Qualify")},
                            {"Value": 1, "Label": _label("Develop")},
                            {"Value": 2, "Label": _label("Propose")},
                            {"Value": 3, "Label": _label("Close")},
                        ]
                    },
                },
            ]
        },
    )
    options = client.picklist_options("opportunity", "salesstage")
    assert options == [
        Option(0, "Qualify"),
        Option(1, "Develop"),
        Option(2, "Propose"),
        Option(3, "Close"),
    ]
    assert mocked.calls[0].request.url.endswith(
        "PicklistAttributeMetadata?$select=LogicalName,DisplayName&$expand=OptionSet"
    )
    with pytest.raises(MissingObjectError, match="no choice column stepname"):
        client.picklist_options("opportunity", "stepname")


def test_picklist_without_options_is_malformed(client, mocked):
    mocked.add(
        "GET",
        f"{OPPORTUNITY}/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        json={"value": [{"LogicalName": "salesstage", "OptionSet": None}]},
    )
    with pytest.raises(MalformedResponse):
        client.picklist_options("opportunity", "salesstage")


def test_money_columns_with_labels(client, mocked):
    mocked.add(
        "GET",
        f"{OPPORTUNITY}/Attributes/Microsoft.Dynamics.CRM.MoneyAttributeMetadata",
        json={
            "value": [
                {"LogicalName": "estimatedvalue", "DisplayName": _label("Est. Revenue")},
                {"LogicalName": "new_wonamount", "DisplayName": _label("Won Amount")},
                {"LogicalName": "actualvalue_base", "DisplayName": {"UserLocalizedLabel": None}},
            ]
        },
    )
    assert client.money_columns("opportunity") == [
        Column("estimatedvalue", "Est. Revenue"),
        Column("new_wonamount", "Won Amount"),
        Column("actualvalue_base", "actualvalue_base"),
    ]


def test_attribute_list_without_value_is_malformed_and_names_the_url(client, mocked):
    url = f"{OPPORTUNITY}/Attributes/Microsoft.Dynamics.CRM.MoneyAttributeMetadata"
    mocked.add("GET", url, json={"LogicalName": "x"})
    with pytest.raises(MalformedResponse) as caught:
        client.money_columns("opportunity")
    assert caught.value.url.startswith(url)


def test_whoami(client, mocked):
    mocked.add(
        "GET", f"{API}WhoAmI", json={"UserId": "u", "BusinessUnitId": "b", "OrganizationId": "o"}
    )
    assert client.whoami()["UserId"] == "u"
