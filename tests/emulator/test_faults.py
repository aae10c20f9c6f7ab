"""Every fault kind, switched at run time and at start, and the server surviving them."""

from __future__ import annotations

import json
import time
import uuid

import msal
import pytest
import requests

from .conftest import Api, error_of

pytestmark = pytest.mark.emulator


@pytest.fixture
def api(emulator_clean, emulator) -> Api:
    return Api(emulator, emulator.token())


def test_error_rate_answers_500_or_503_with_retry_after(api, emulator):
    emulator.set_faults(error_rate=1.0)
    statuses = set()
    for _ in range(20):
        response = api.get("WhoAmI")
        statuses.add(response.status_code)
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "1"
        assert "error" in response.json()
    assert statuses == {500, 503}
    assert emulator.health()  # the control endpoint is never faulted


def test_throttle_rate_answers_429(api, emulator):
    emulator.set_faults(throttle_rate=1.0, retry_after=2)
    response = api.get("accounts?$select=name")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert error_of(response)["code"] == "0x80072322"


def test_drop_rate_closes_the_connection_and_the_server_keeps_serving(api, emulator):
    emulator.set_faults(drop_rate=1.0)
    for _ in range(3):
        with pytest.raises(requests.ConnectionError):
            api.get("WhoAmI")
    emulator.reset_faults()
    assert api.get("WhoAmI").status_code == 200
    assert emulator.stats()["faults_injected"]["drop"] >= 3


def test_dropped_writes_are_not_applied(api, emulator):
    emulator.set_faults(drop_rate=1.0)
    task_id = str(uuid.uuid4())
    with pytest.raises(requests.ConnectionError):
        api.post("tasks", json={"activityid": task_id, "subject": "lost"})
    assert emulator.row("tasks", task_id) is None


def test_drop_after_write_applies_the_write_and_loses_the_answer(api, emulator):
    emulator.set_faults(drop_after_write_rate=1.0)
    task_id = str(uuid.uuid4())
    with pytest.raises(requests.ConnectionError):
        api.post("tasks", json={"activityid": task_id, "subject": "applied"})
    assert emulator.row("tasks", task_id)["subject"] == "applied"
    assert api.get("WhoAmI").status_code == 200  # reads are not affected
    emulator.reset_faults()
    retry = api.post("tasks", json={"activityid": task_id, "subject": "applied"})
    assert retry.status_code == 412  # the client id makes the retry safe


def test_latency(api, emulator):
    emulator.set_faults(latency_ms=300)
    started = time.monotonic()
    api.get("WhoAmI")
    assert time.monotonic() - started >= 0.3


def test_user_latency_slows_only_that_users_requests(emulator_clean, emulator):
    """One slow org among contracts sharing the emulator (each connected as its own user)."""
    alex = Api(emulator, emulator.token("alex.morgan@contoso-demo.com"))
    admin = Api(emulator, emulator.token("admin@contoso-demo.com"))
    emulator.set_faults(user_latency_ms={"Alex.Morgan@contoso-demo.com": 300})
    started = time.monotonic()
    assert alex.get("WhoAmI").status_code == 200
    assert time.monotonic() - started >= 0.3
    assert emulator.faults()["user_latency_ms"] == {"alex.morgan@contoso-demo.com": 300}
    assert admin.get("WhoAmI").status_code == 200
    response = emulator.http.patch(
        f"{emulator.control_url}/faults", json={"user_latency_ms": {"a@b.test": -1}}
    )
    assert response.status_code == 400 and "user_latency_ms" in response.json()["error"]


@pytest.mark.parametrize("kind", ["html", "truncated", "no_value"])
def test_malformed_bodies(api, emulator, kind):
    emulator.set_faults(malformed_rate=1.0, malformed_kinds=[kind])
    response = api.get("accounts?$select=name&$top=3")
    assert response.status_code == 200
    if kind == "html":
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.text.startswith("<!DOCTYPE html>")
    elif kind == "truncated":
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.text)
    else:
        assert "value" not in response.json()
    assert api.post("tasks", json={"subject": "writes are never malformed"}).status_code == 204


def test_missing_tables_vanish_from_api_and_metadata(api, emulator):
    emulator.set_faults(missing_tables=["opportunity"])
    response = api.get("opportunities?$select=name")
    assert response.status_code == 404
    assert api.get("EntityDefinitions(LogicalName='opportunity')").status_code == 404
    names = [e["LogicalName"] for e in api.get("EntityDefinitions?$select=LogicalName").json()[
        "value"]]
    assert "opportunity" not in names and "account" in names
    assert b'EntityType Name="opportunity"' not in api.get("$metadata").content


def test_deny_makes_a_users_reads_fail(emulator_clean, emulator):
    alex = Api(emulator, emulator.token("alex.morgan@contoso-demo.com"))
    emulator.set_faults(deny={"Alex.Morgan@contoso-demo.com": ["contact"]})
    assert alex.get("contacts?$select=fullname").status_code == 403
    assert alex.get("accounts?$select=name&$top=1").status_code == 200
    admin = Api(emulator, emulator.token("admin@contoso-demo.com"))
    assert admin.get("contacts?$select=fullname&$top=1").status_code == 200


def test_unreachable_drops_api_and_token_but_not_control(api, emulator):
    emulator.set_faults(unreachable=True)
    with pytest.raises(requests.ConnectionError):
        api.get("WhoAmI")
    with pytest.raises(requests.ConnectionError):
        emulator.session().post(f"{emulator.authority}/oauth2/v2.0/token", data={})
    assert emulator.health()
    assert emulator.faults()["unreachable"] is True


def test_faults_hit_the_token_endpoint_too(emulator_clean, emulator):
    emulator.set_faults(error_rate=1.0, scope="token")
    app = msal.ConfidentialClientApplication(
        emulator.client_id, client_credential=emulator.client_secret,
        authority=emulator.authority, instance_discovery=False, http_client=emulator.session())
    with pytest.raises(msal.exceptions.MsalServiceError):
        for _ in range(5):  # a 503 is memoised by msal for Retry-After; a 500 raises
            app.acquire_token_for_client(scopes=[f"{emulator.base_url}/.default"])
    api = Api(emulator, emulator.token())
    assert api.get("WhoAmI").status_code == 200  # scope "token" leaves the API alone


def test_fault_seed_makes_faults_reproducible(api, emulator):
    def run() -> list[int]:
        emulator.replace_faults(error_rate=0.3, throttle_rate=0.3, fault_seed=1234)
        return [api.get("WhoAmI").status_code for _ in range(25)]

    first, second = run(), run()
    assert first == second
    assert {200, 429} <= set(first)


def test_bad_fault_documents_are_rejected(emulator_clean, emulator):
    response = emulator.http.patch(f"{emulator.control_url}/faults", json={"error_rate": 3})
    assert response.status_code == 400 and "error_rate" in response.json()["error"]
    response = emulator.http.patch(f"{emulator.control_url}/faults", json={"explode": True})
    assert response.status_code == 400


def test_faults_given_at_start(emulator_factory):
    org = emulator_factory(size="demo", faults={"throttle_rate": 1.0}, fault_seed=3)
    api = Api(org, org.token())
    assert api.get("WhoAmI").status_code == 429
    assert org.faults()["throttle_rate"] == 1.0


def test_stats_count_requests_by_kind_and_status(api, emulator):
    api.get("WhoAmI")
    api.get("nosuchset")
    stats = emulator.stats()
    assert stats["by_kind_status"]["api"]["200"] >= 1
    assert stats["by_kind_status"]["api"]["404"] >= 1
    emulator.reset_stats()
    assert emulator.stats()["by_kind"].get("api", 0) == 0
