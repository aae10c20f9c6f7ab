"""RetrieveUserPrivileges (privileges.py): the privileges a user holds, as Dataverse's bound
function answers them, and the request counts by method a test uses to show it only read."""

from __future__ import annotations

import pytest

from .conftest import error_of

pytestmark = pytest.mark.emulator

READONLY = "readonly@contoso-demo.com"
ALEX = "alex.morgan@contoso-demo.com"
INTEGRATION = "integration@contoso-demo.com"
FUNCTION = "Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"


def _privileges(api, user_id: str) -> dict[str, dict]:
    response = api.get(f"systemusers({user_id})/{FUNCTION}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith(
        "$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse")
    return {item["PrivilegeName"]: item for item in body["RolePrivileges"]}


def test_it_lists_a_user_s_privileges_as_role_privileges(emulator, api):
    held = _privileges(api, emulator.user(INTEGRATION)["systemuserid"])
    one = held["prvReadAccount"]
    assert set(one) == {"BusinessUnitId", "Depth", "PrivilegeId", "PrivilegeName",
                        "RecordFilterId", "RecordFilterUniqueName"}
    assert one["Depth"] == "Global"
    # Dataverse's names: users' are prvReadUser, tasks share the Activity privileges, custom
    # activities have their own; write brings Append and AppendTo; delegate is its own privilege.
    for name in ("prvReadUser", "prvCreateActivity", "prvWriteActivity", "prvAppendActivity",
                 "prvCreateli_inmail", "prvAppendToContact", "prvReadTransactionCurrency",
                 "prvActOnBehalfOfAnotherUser"):
        assert name in held, name
    assert len({item["PrivilegeId"] for item in held.values()}) == len(held)


def test_it_follows_the_privileges_an_admin_changes(emulator, emulator_clean, api):
    user_id = emulator.user(ALEX)["systemuserid"]
    assert "prvActOnBehalfOfAnotherUser" not in _privileges(api, user_id)
    assert "prvReadOpportunity" in _privileges(api, user_id)
    before = emulator.privileges(ALEX)
    emulator.set_privileges(ALEX, read=["account", "contact", "systemuser"], delegate=True)
    try:
        held = _privileges(api, user_id)
        assert "prvReadOpportunity" not in held
        assert "prvActOnBehalfOfAnotherUser" in held
    finally:
        emulator.set_privileges(ALEX, **before)


def test_a_removed_solution_takes_its_privileges_with_it(emulator, api):
    user_id = emulator.user(INTEGRATION)["systemuserid"]
    emulator.set_linkedin_solution(False)
    try:
        held = _privileges(api, user_id)
        assert not [name for name in held if "li_" in name]
    finally:
        emulator.set_linkedin_solution(True)


def test_it_needs_read_on_users_and_an_existing_user(emulator, emulator_clean, api, api_as):
    before = emulator.privileges(READONLY)
    emulator.set_privileges(READONLY, read=["account"])
    try:
        denied = api_as(READONLY).get(
            f"systemusers({emulator.user(ALEX)['systemuserid']})/{FUNCTION}")
        assert denied.status_code == 403
        assert "prvReadUser" in error_of(denied)["message"]
    finally:
        emulator.set_privileges(READONLY, **before)
    missing = api.get(f"systemusers(00000000-0000-0000-0000-00000000abcd)/{FUNCTION}")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "0x80040217"
    assert api.post(f"systemusers({emulator.user(ALEX)['systemuserid']})/{FUNCTION}",
                    json={}).status_code == 405


def test_stats_count_api_requests_by_method(emulator, emulator_clean, api):
    emulator.reset_stats()
    api.get("WhoAmI")
    api.get("accounts?$select=name&$top=1")
    api.post("accounts", json={"name": "Counted by method"})
    assert emulator.stats()["by_kind_method"]["api"] == {"GET": 2, "POST": 1}
