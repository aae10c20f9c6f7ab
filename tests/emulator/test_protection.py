"""Service protection: Dataverse's per-user limits, their headers and their 429 answers.

The HTTP tests lower the limits through the control endpoint (or the command line) so that a few
requests reach them; the window arithmetic is checked on `ServiceProtection` itself with a clock
the test moves.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from dynamics_emulator.protection import DEFAULTS, ServiceProtection, validate
from dynamics_emulator.wire import DataverseError
from tests.emulator_fixtures import REPO_ROOT

from .conftest import Api, error_of

pytestmark = pytest.mark.emulator

ADMIN = "admin@contoso-demo.com"
ALEX = "alex.morgan@contoso-demo.com"
REQUESTS = "x-ms-ratelimit-burst-remaining-xrm-requests"
TIME = "x-ms-ratelimit-time-remaining-xrm-requests"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _refusal(protection: ServiceProtection, user: str = "u") -> DataverseError:
    with pytest.raises(DataverseError) as caught:
        protection.admit(user)
    return caught.value


def _retry_after(error: DataverseError) -> int:
    return int(dict(error.headers)["Retry-After"])


# --- over HTTP -------------------------------------------------------------------------------


def test_every_web_api_answer_says_what_is_left(emulator_clean):
    api = Api(emulator_clean, emulator_clean.token(ADMIN))
    first = api.get("WhoAmI")
    assert first.headers[REQUESTS] == "5999"  # Dataverse's default limits
    # "1,200.00" or "1,199.99": thousands grouped, two decimals, as Dataverse sends it.
    assert re.fullmatch(r"1,(200\.00|199\.\d\d)", first.headers[TIME])
    missing = api.get("accounts(00000000-0000-0000-0000-000000000001)")
    assert missing.status_code == 404
    assert missing.headers[REQUESTS] == "5998"  # errors count and carry the headers too
    unauthenticated = emulator_clean.session().get(f"{emulator_clean.api_url}WhoAmI")
    assert unauthenticated.status_code == 401
    assert REQUESTS not in unauthenticated.headers  # no user, nothing counted


def test_the_request_limit_answers_429_and_holds_until_retry_after(emulator_clean):
    emulator_clean.set_service_protection(requests=3, window=120)
    api = Api(emulator_clean, emulator_clean.token(ADMIN))
    answers = [api.get("WhoAmI") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers[REQUESTS] for a in answers[:3]] == ["2", "1", "0"]
    refused = answers[3]
    assert 1 <= int(refused.headers["Retry-After"]) <= 120
    assert refused.headers[REQUESTS] == "0"
    assert error_of(refused) == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 3 over time window of 120 seconds.",
    }
    early = api.get("WhoAmI")
    assert early.status_code == 429
    assert int(early.headers["Retry-After"]) <= int(refused.headers["Retry-After"])
    assert Api(emulator_clean, emulator_clean.token(ALEX)).get("WhoAmI").status_code == 200
    protection = emulator_clean.service_protection()
    assert protection["throttled"] == 2
    assert protection["early"] == 1
    assert protection["settings"]["requests"] == 3


def test_a_batch_counts_as_one_request(emulator_clean):
    emulator_clean.set_service_protection(requests=2)
    api = Api(emulator_clean, emulator_clean.token(ADMIN))
    boundary = "batch_b"
    parts = "".join(
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary"
        f"\r\n\r\nGET {emulator_clean.api_url}WhoAmI HTTP/1.1\r\nAccept: application/json"
        "\r\n\r\n"
        for _ in range(5)
    )
    answer = api.post(
        "$batch",
        data=f"{parts}--{boundary}--\r\n",
        headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
    )
    assert answer.status_code == 200
    assert answer.headers[REQUESTS] == "1"


def test_limits_are_set_replaced_and_reset_through_the_control_endpoint(emulator_clean):
    merged = emulator_clean.set_service_protection(requests=10, concurrent=4)
    assert merged["settings"] == DEFAULTS | {"requests": 10, "concurrent": 4}
    replaced = emulator_clean.control(
        "PUT", "service-protection", json_body={"execution_seconds": 5}
    )
    assert replaced["settings"] == DEFAULTS | {"execution_seconds": 5}
    assert emulator_clean.reset_service_protection()["settings"] == DEFAULTS
    refused = emulator_clean.http.patch(
        f"{emulator_clean.control_url}/service-protection", json={"requests": 0}, timeout=10
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "requests must be above 0"
    unknown = emulator_clean.http.patch(
        f"{emulator_clean.control_url}/service-protection", json={"burst": 1}, timeout=10
    )
    assert unknown.status_code == 400
    assert "unknown service protection setting 'burst'" in unknown.json()["error"]


def test_switched_off_there_are_no_limits_and_no_headers(emulator_clean):
    emulator_clean.set_service_protection(enabled=False, requests=1)
    api = Api(emulator_clean, emulator_clean.token(ADMIN))
    answers = [api.get("WhoAmI") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert REQUESTS not in answers[0].headers


def test_start_up_limits_come_from_the_command_line_and_survive_a_reset(emulator_factory):
    org = emulator_factory(size="demo", service_protection={"requests": 2, "window": 60})
    api = Api(org, org.token(ADMIN))
    assert [api.get("WhoAmI").status_code for _ in range(3)] == [200, 200, 429]
    assert org.reset_service_protection()["settings"]["requests"] == 2
    assert api.get("WhoAmI").status_code == 200  # the windows were emptied


def test_malformed_start_up_limits_stop_the_emulator_with_a_message(tmp_path):
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    environment["DYNAMICS_EMULATOR_SERVICE_PROTECTION"] = '{"requests": -1}'
    command = [
        sys.executable,
        "-m",
        "dynamics_emulator",
        "serve",
        "--data",
        str(tmp_path / "org.db"),
        "--port",
        "0",
        "--size",
        "demo",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=REPO_ROOT, timeout=60
    )
    assert result.returncode != 0
    assert "$DYNAMICS_EMULATOR_SERVICE_PROTECTION: requests must be above 0" in result.stderr
    environment.pop("DYNAMICS_EMULATOR_SERVICE_PROTECTION")
    result = subprocess.run(
        [*command, "--service-protection", "{not json"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--service-protection:" in result.stderr


# --- the windows, with a clock the test moves --------------------------------------------------


def test_a_refused_request_learns_when_a_slot_frees_up():
    clock = Clock()
    protection = ServiceProtection({"requests": 3, "window": 10}, clock=clock)
    for _ in range(3):
        protection.finish(protection.admit("u"))
        clock.now += 1
    # Requests at 100, 101, 102; now 103. The one at 100 leaves the window at 110, but the
    # refused request counts too, so the next slot frees when the one at 101 leaves: 111.
    refused = _refusal(protection)
    assert refused.code == "0x80072322"
    assert _retry_after(refused) == 8
    clock.now = 111.0
    protection.finish(protection.admit("u"))  # exactly at Retry-After: admitted
    assert protection.snapshot()["users"]["u"]["early"] == 0


def test_requests_during_the_hold_are_refused_and_extend_it():
    clock = Clock()
    protection = ServiceProtection({"requests": 3, "window": 10}, clock=clock)
    for _ in range(3):
        protection.finish(protection.admit("u"))
        clock.now += 1
    assert _retry_after(_refusal(protection)) == 8  # until 111
    clock.now = 110.5
    assert _retry_after(_refusal(protection)) == 1  # early: told the time still left
    clock.now = 111.0
    # The early request filled the window again: the next slot frees at 103 + 10.
    assert _retry_after(_refusal(protection)) == 2
    assert protection.snapshot()["users"]["u"]["early"] == 1


def test_spent_execution_time_is_refused_until_enough_slides_out():
    clock = Clock()
    protection = ServiceProtection({"execution_seconds": 3, "window": 60}, clock=clock)
    for seconds in (2, 2):
        ticket = protection.admit("u")
        clock.now += seconds
        headers = dict(protection.finish(ticket))
    assert headers[TIME] == "0.00"
    refused = _refusal(protection)
    assert refused.code == "0x80072321"
    assert refused.message.startswith(
        "Combined execution time of incoming requests exceeded limit of 3,000 milliseconds over "
        "time window of 60 seconds."
    )
    # 4 s spent; below 3 s once the first (ended at 102) slides out at 162; now 104.
    assert _retry_after(refused) == 58


def test_too_many_at_once_is_refused_at_once_without_a_hold():
    clock = Clock()
    protection = ServiceProtection({"concurrent": 2}, clock=clock)
    first, _second = protection.admit("u"), protection.admit("u")
    refused = _refusal(protection)
    assert refused.code == "0x80072326"
    assert refused.message == "Number of concurrent requests exceeded the limit of 2."
    assert _retry_after(refused) == 1
    protection.finish(first)
    protection.finish(protection.admit("u"))  # a slot is free: no hold was set
    protection.admit("v")  # and other users were never limited


def test_settings_are_checked():
    assert validate({"requests": 10.0}) == {"requests": 10}
    for bad, message in [
        ({"requests": 1.5}, "requests must be a whole number"),
        ({"window": 0}, "window must be above 0"),
        ({"enabled": "yes"}, "enabled must be true or false"),
        ({"concurrency_retry_after": -1}, "concurrency_retry_after must not be negative"),
        ({"requests": True}, "requests must be a number"),
    ]:
        with pytest.raises(ValueError, match=message):
            validate(bad)
    # Dataverse's documented defaults: 6,000 requests and 1,200 s per 300 s, 52 at once.
    assert (DEFAULTS["requests"], DEFAULTS["window"], DEFAULTS["execution_seconds"]) == (
        6000,
        300,
        1200,
    )
    assert DEFAULTS["concurrent"] == 52
