"""Parsing RetrieveUserPrivileges: the deepest depth of a privilege held through several roles."""

import pytest

from dynamics import MalformedResponse
from tests.dynamics.client_fakes import API

USER = "5509ae7a-e0ed-5b86-907a-5c8d5b4e3a30"
URL = f"{API}systemusers({USER})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"


def _privilege(name, depth):
    return {"PrivilegeName": name, "Depth": depth, "PrivilegeId": USER, "BusinessUnitId": USER}


def test_it_keeps_the_deepest_depth_and_reads_numbered_depths(client, mocked):
    mocked.add("GET", URL, json={"RolePrivileges": [
        _privilege("prvReadAccount", "Local"),
        _privilege("prvReadAccount", "Global"),
        _privilege("prvReadContact", 2),
        _privilege("prvReadLead", "RecordFilter"),
    ]})  # fmt: skip
    assert client.user_privileges(USER.upper()) == {
        "prvReadAccount": "Global",
        "prvReadContact": "Deep",
        "prvReadLead": "RecordFilter",
    }


@pytest.mark.parametrize(
    "body",
    [{}, {"RolePrivileges": [{"Depth": "Global"}]}, {"RolePrivileges": [{"PrivilegeName": "x"}]}],
)
def test_a_malformed_answer_is_malformed(client, mocked, body):
    mocked.add("GET", URL, json=body)
    with pytest.raises(MalformedResponse):
        client.user_privileges(USER)
