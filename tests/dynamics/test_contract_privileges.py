"""Contract: DynamicsClient.user_privileges against the emulator's RetrieveUserPrivileges."""

import pytest

from dynamics import MissingObjectError, PrivilegeError
from tests.dynamics.contract_support import ALEX, INTEGRATION, READONLY, user_client

pytestmark = pytest.mark.emulator


def test_it_reads_the_privileges_a_user_holds_with_one_get(emulator_clean):
    emulator = emulator_clean
    client = user_client(emulator, INTEGRATION)
    held = client.user_privileges(emulator.user(INTEGRATION)["systemuserid"])
    assert held["prvReadAccount"] == "Global"
    assert "prvActOnBehalfOfAnotherUser" in held
    assert "prvActOnBehalfOfAnotherUser" not in client.user_privileges(
        emulator.user(ALEX)["systemuserid"]
    )
    assert client.stats.requests == 2
    assert emulator.stats()["by_kind_method"]["api"] == {"GET": 2}


def test_a_caller_who_may_not_read_users_gets_a_privilege_error(emulator_clean):
    emulator = emulator_clean
    before = emulator.privileges(READONLY)
    emulator.set_privileges(READONLY, read=["account"])
    try:
        with pytest.raises(PrivilegeError):
            user_client(emulator, READONLY).user_privileges(emulator.user(ALEX)["systemuserid"])
    finally:
        emulator.set_privileges(READONLY, **before)


def test_an_unknown_user_is_a_missing_object(emulator_clean):
    client = user_client(emulator_clean, INTEGRATION)
    with pytest.raises(MissingObjectError):
        client.user_privileges("00000000-0000-0000-0000-00000000abcd")
