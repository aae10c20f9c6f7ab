"""Differences from Dataverse that Microsoft's Python SDK found (tests_contract/), one test each."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.emulator


def test_entity_definitions_have_is_private_for_the_sdks_table_list(api):
    """tables.list() filters `IsPrivate eq false`; without the property no table matched."""
    response = api.get("EntityDefinitions?$select=LogicalName,IsPrivate"
                       "&$filter=IsPrivate eq false")
    assert response.status_code == 200
    names = {item["LogicalName"] for item in response.json()["value"]}
    assert {"account", "contact", "task", "opportunity"} <= names
