"""Authentication, privileges, impersonation and service protection."""

from __future__ import annotations

import time
import uuid

import pytest

from .conftest import APP_EMAIL, Api, error_of

pytestmark = pytest.mark.emulator

ALEX = "alex.morgan@contoso-demo.com"
ADMIN = "admin@contoso-demo.com"


def test_missing_unknown_and_expired_tokens_are_401(emulator, api):
    session = emulator.session()
    response = session.get(f"{emulator.api_url}WhoAmI")
    assert response.status_code == 401
    assert error_of(response)["code"] == "0x8005f101"
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    unknown = Api(emulator, "emu.not-a-real-token")
    assert unknown.get("WhoAmI").status_code == 401
    short = Api(emulator, emulator.token(ADMIN, lifetime=1))
    assert short.get("WhoAmI").status_code == 200
    time.sleep(1.1)
    assert short.get("WhoAmI").status_code == 401


def test_expiring_all_tokens(emulator_factory):
    org = emulator_factory(size="demo")
    api = Api(org, org.token(ADMIN))
    assert api.get("WhoAmI").status_code == 200
    org.expire_tokens()
    response = api.get("WhoAmI")
    assert response.status_code == 401
    assert "expired" in error_of(response)["message"]


def test_a_token_for_another_org_is_401(emulator, emulator_factory):
    other = emulator_factory(size="demo")
    foreign = Api(emulator, other.token(ADMIN))
    assert foreign.get("WhoAmI").status_code == 401


def test_read_without_privilege_is_403(api_as):
    readonly = api_as("readonly@contoso-demo.com")
    assert readonly.get("accounts?$select=name&$top=1").status_code == 200
    response = readonly.get("opportunities?$select=name")
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "0x80040220"
    assert "prvReadOpportunity" in error["message"]
    assert "The user does not hold the necessary privileges." in error["message"]
    expand = readonly.get("accounts?$select=name&$expand=ownerid($select=fullname)&$top=1")
    assert expand.status_code == 200


def test_write_without_privilege_is_403(api_as):
    response = api_as("readonly@contoso-demo.com").post("tasks", json={"subject": "nope"})
    assert response.status_code == 403
    # Tasks share the Activity privileges in Dataverse ("Activity Privileges").
    assert "prvCreateActivity" in error_of(response)["message"]


def test_privileges_can_be_changed_at_run_time(emulator_factory):
    org = emulator_factory(size="demo")
    api = Api(org, org.token(ALEX))
    assert api.get("contacts?$select=fullname&$top=1").status_code == 200
    org.set_privileges(ALEX, read=["accounts", "opportunity"])
    assert api.get("contacts?$select=fullname&$top=1").status_code == 403
    assert api.get("accounts?$select=name&$top=1").status_code == 200
    assert org.privileges(ALEX)["read"] == ["account", "opportunity"]


def test_impersonation_by_a_user_who_may_delegate(api, emulator, api_as):
    alex = emulator.user(ALEX)
    app_user = emulator.user(APP_EMAIL)
    as_alex = {"CallerObjectId": alex["azureactivedirectoryobjectid"]}
    who = api.get("WhoAmI", headers=as_alex).json()
    assert who["UserId"] == alex["systemuserid"]
    task_id = str(uuid.uuid4())
    response = api.post("tasks", json={"activityid": task_id, "subject": "by Alex"},
                        headers=as_alex)
    assert response.status_code == 204
    stored = emulator.row("tasks", task_id)
    assert stored["_createdby_value"] == alex["systemuserid"]
    assert stored["_ownerid_value"] == alex["systemuserid"]
    assert stored["_createdonbehalfby_value"] == app_user["systemuserid"]


def test_impersonated_users_privileges_apply(api, emulator):
    readonly = emulator.user("readonly@contoso-demo.com")
    response = api.get("opportunities?$select=name&$top=1",
                       headers={"CallerObjectId": readonly["azureactivedirectoryobjectid"]})
    assert response.status_code == 403


def test_impersonation_needs_the_delegate_privilege(api_as, emulator):
    alex = emulator.user(ALEX)
    response = api_as(ADMIN).post("tasks", json={"subject": "x"},
                                  headers={"CallerObjectId": alex["azureactivedirectoryobjectid"]})
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "0x8004a110"
    assert "prvActOnBehalfOfAnotherUser" in error["message"]


def test_impersonating_unknown_or_disabled_users_fails(api, emulator):
    response = api.get("WhoAmI", headers={"CallerObjectId": str(uuid.uuid4())})
    assert response.status_code == 400
    assert "CallerObjectId" in error_of(response)["message"]
    disabled = emulator.user("chris.former@contoso-demo.com")
    response = api.get("WhoAmI",
                       headers={"CallerObjectId": disabled["azureactivedirectoryobjectid"]})
    assert response.status_code == 403
    assert "disabled" in error_of(response)["message"]


def test_impersonation_by_system_user_id(api, emulator):
    alex = emulator.user(ALEX)
    who = api.get("WhoAmI", headers={"MSCRMCallerID": alex["systemuserid"]}).json()
    assert who["UserId"] == alex["systemuserid"]


def test_rate_limit_answers_429_with_retry_after(emulator_factory):
    org = emulator_factory(size="demo", rate_limit="5/60")
    api = Api(org, org.token(ADMIN))
    statuses = [api.get("WhoAmI").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = api.get("WhoAmI")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    error = error_of(response)
    assert error["code"] == "0x80072322"
    assert error["message"] == ("Number of requests exceeded the limit of 5 over time window of "
                                "60 seconds.")
    other_user = Api(org, org.token(ALEX))
    assert other_user.get("WhoAmI").status_code == 200  # limits are per user
