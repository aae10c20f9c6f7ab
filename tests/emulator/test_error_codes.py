"""The error-code table: every code the emulator sends is in it, and every entry names its page."""

from __future__ import annotations

import pathlib
import re

import pytest

from dynamics_emulator import error_codes
from dynamics_emulator.wire import DataverseError

from .conftest import Api, error_of

pytestmark = pytest.mark.emulator

PACKAGE = pathlib.Path(error_codes.__file__).parent


def test_every_entry_names_a_microsoft_page():
    for entry in error_codes.ERROR_CODES.values():
        assert entry.doc.startswith("https://learn.microsoft.com/"), entry
        assert entry.note, entry


def test_no_code_is_written_outside_the_table():
    """Codes are used by name; a hex literal elsewhere would bypass the table."""
    for path in PACKAGE.glob("*.py"):
        if path.name == "error_codes.py":
            continue
        literals = re.findall(r"[\"']0x8[0-9a-fA-F]{7}[\"']", path.read_text())
        assert literals == [], f"{path.name} writes {literals}; use error_codes"


def test_a_code_outside_the_table_is_refused():
    with pytest.raises(ValueError, match="not in error_codes.py"):
        DataverseError(400, "0x80041234", "made up")


@pytest.fixture
def api(emulator) -> Api:
    return Api(emulator, emulator.token())


@pytest.mark.parametrize("method, path, status, code, message", [
    ("GET", "Account", 404, "0x8006088a", "Resource not found for the segment 'Account'."),
    ("GET", "accounts?$select=Name", 400, "0x0",
     "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'."),
    ("POST", "WhoAmI", 404, "", "No HTTP resource was found that matches the request URI"),
])
def test_the_client_errors_page_examples(api, method, path, status, code, message):
    """learn.microsoft.com/troubleshoot/power-platform/power-apps/dataverse/web-api-client-errors"""
    response = api.request(method, path)
    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert error_of(response)["message"].startswith(message)


def test_a_misspelt_body_property_is_the_pages_invalid_property(api):
    response = api.post("accounts", json={"Name": "Account name"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "0x0"
    assert "Invalid property 'Name' was found in entity 'Microsoft.Dynamics.CRM.account'" in \
        error_of(response)["message"]


@pytest.mark.parametrize("option", ["$skip=1", "$search=contoso", "$format=json"])
def test_query_options_dataverse_does_not_support_are_refused(api, option):
    response = api.get(f"accounts?$select=name&{option}")
    assert response.status_code == 400
    assert error_of(response) == {"code": "0x80060888", "message": f"The query parameter "
                                  f"{option.split('=')[0]} is not supported."}


def test_options_dataverse_has_but_the_emulator_does_not_say_so(api):
    response = api.get("accounts?$apply=aggregate($count as total)")
    assert response.status_code == 400
    assert "not supported by the emulator" in error_of(response)["message"]
