"""Pytest fixtures that run the Dynamics emulator as a real subprocess.

Register them in a conftest.py:

    from tests import emulator_fixtures

    emulator = emulator_fixtures.emulator
    emulator_clean = emulator_fixtures.emulator_clean
    emulator_factory = emulator_fixtures.emulator_factory

(or list `"tests.emulator_fixtures"` in `pytest_plugins` of the top-level conftest.py, which makes
every test directory share one session emulator).

- `emulator` (session): a `small` org over https on a free port. Tests share it, so create rows
  with fresh ids instead of counting on an untouched org.
- `emulator_clean` (function): the same emulator with faults, service protection (limits and
  windows) and request stats reset before and after the test. Use it in tests that switch faults
  on or change the limits.
- `emulator_factory` (session): `emulator_factory(size="demo", rate_limit="5/60", ...)` starts
  another emulator with other options; all of them stop at the end of the session.

A `RunningEmulator` has the ready-line values (`base_url`, `tenant`, `ca_cert`, `client_id`,
`client_secret`, `authority`, `api_url`, ...) and helpers for the control endpoint:
`set_faults`, `reset_faults`, `rows`, `row`, `counts`, `create_opportunity`, `patch_row`,
`delete_row`, `set_privileges`, `set_linkedin_solution`, `set_options`, `set_change_tracking`,
`expire_tokens`, `token(email)`, `sign_in(auth_uri, email)` and more.

TLS: this machine sets REQUESTS_CA_BUNDLE, which requests lets override `Session.verify`.
`RunningEmulator.session()` therefore returns a session with `trust_env = False` and
`verify = ca_cert`; hand the same session to msal as `http_client`.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DOMAIN = "contoso-demo.com"


class EmulatorError(RuntimeError):
    """The emulator did not start, or a control call failed."""


@dataclass
class RunningEmulator:
    """A started emulator process and helpers to drive it."""

    process: subprocess.Popen
    ready: dict
    data_path: Path
    log_path: Path
    _session: requests.Session | None = field(default=None, repr=False)

    # -- what the ready line said --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The org URL, e.g. https://127.0.0.1:8443 (the portal's "environment URL")."""
        return self.ready["base_url"]

    environment_url = base_url

    @property
    def browser_url(self) -> str:
        return self.ready["browser_url"]

    @property
    def tenant(self) -> str:
        return self.ready["tenant"]

    @property
    def ca_cert(self) -> str | None:
        return self.ready["ca_cert"]

    @property
    def client_id(self) -> str:
        return self.ready["client_id"]

    @property
    def client_secret(self) -> str:
        return self.ready["client_secret"]

    @property
    def control_url(self) -> str:
        return self.ready["control_url"]

    @property
    def api_url(self) -> str:
        """https://127.0.0.1:<port>/api/data/v9.2/ (with the trailing slash)."""
        return self.ready["api_url"]

    @property
    def authority(self) -> str:
        """The msal authority: https://127.0.0.1:<port>/<tenant>."""
        return self.ready["authority"]

    @property
    def scope(self) -> str:
        return f"{self.base_url}/.default"

    # -- HTTP ----------------------------------------------------------------------------------

    def session(self) -> requests.Session:
        """A new requests session that trusts the emulator's certificate (and nothing from the
        environment: REQUESTS_CA_BUNDLE would otherwise override `verify`)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_cert if self.ca_cert else True
        return session

    @property
    def http(self) -> requests.Session:
        """A shared session for control calls."""
        if self._session is None:
            self._session = self.session()
        return self._session

    def control(self, method: str, path: str, *, json_body=None, params=None,
                expect: tuple[int, ...] = (200, 201, 204)):
        """Call /_emulator/<path>; returns the decoded JSON (None for 204)."""
        response = self.http.request(method, f"{self.control_url}/{path.lstrip('/')}",
                                     json=json_body, params=params, timeout=60)
        if response.status_code not in expect:
            raise EmulatorError(f"{method} /_emulator/{path} -> {response.status_code}: "
                                f"{response.text[:500]}")
        return response.json() if response.content else None

    # -- control helpers -----------------------------------------------------------------------

    def health(self) -> bool:
        return self.control("GET", "health")["ok"]

    def faults(self) -> dict:
        return self.control("GET", "faults")

    def set_faults(self, **faults) -> dict:
        """Merge these faults into the current ones (PATCH)."""
        return self.control("PATCH", "faults", json_body=faults)

    def replace_faults(self, **faults) -> dict:
        """Replace all faults with these (PUT); unspecified ones go back to off."""
        return self.control("PUT", "faults", json_body=faults)

    def reset_faults(self) -> dict:
        return self.control("DELETE", "faults")

    def stats(self) -> dict:
        return self.control("GET", "stats")

    def service_protection(self) -> dict:
        """Limits and each user's windows: requests, execution time, in flight, throttled, and
        `early` (requests sent before the Retry-After they were given)."""
        return self.control("GET", "service-protection")

    def set_service_protection(self, **settings) -> dict:
        """Merge these limits into the current ones (PATCH), e.g. requests=10, window=60."""
        return self.control("PATCH", "service-protection", json_body=settings)

    def reset_service_protection(self) -> dict:
        """The start-up limits (Dataverse's unless given) and empty windows."""
        return self.control("DELETE", "service-protection")

    def reset_stats(self) -> None:
        self.control("DELETE", "stats")

    def counts(self) -> dict[str, int]:
        """Rows per entity set."""
        return self.control("GET", "counts")

    def rows(self, entity_set: str, filter: str | None = None, top: int | None = None) -> list:  # noqa: A002
        """Raw stored rows (with createdby/owner/state and private keys), OData filter syntax."""
        params = {}
        if filter:
            params["filter"] = filter
        if top:
            params["top"] = top
        return self.control("GET", f"rows/{entity_set}", params=params)["value"]

    def row(self, entity_set: str, row_id: str) -> dict | None:
        response = self.http.get(f"{self.control_url}/rows/{entity_set}/{row_id}", timeout=30)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def create_row(self, entity_set: str, **fields) -> dict:
        return self.control("POST", f"rows/{entity_set}", json_body=fields)

    def patch_row(self, entity_set: str, row_id: str, **fields) -> dict:
        """Change a row as a Dynamics user would (bumps its version, seen by change tracking)."""
        return self.control("PATCH", f"rows/{entity_set}/{row_id}", json_body=fields)

    def delete_row(self, entity_set: str, row_id: str) -> None:
        self.control("DELETE", f"rows/{entity_set}/{row_id}")

    def create_opportunity(self, **fields) -> dict:
        return self.control("POST", "opportunities", json_body=fields)

    def patch_opportunity(self, row_id: str, **fields) -> dict:
        return self.patch_row("opportunities", row_id, **fields)

    def users(self) -> list[dict]:
        return self.control("GET", "users")["value"]

    def user(self, email: str) -> dict:
        for user in self.users():
            if (user["email"] or "").lower() == email.lower():
                return user
        raise KeyError(email)

    def privileges(self, email: str) -> dict:
        return self.control("GET", f"users/{email}/privileges")

    def set_privileges(self, email: str, **privileges) -> dict:
        """E.g. set_privileges("alex.morgan@contoso-demo.com", read=["account"], delegate=True).
        Lists hold logical names or entity sets; keys not given keep their value."""
        return self.control("PUT", f"users/{email}/privileges", json_body=privileges)

    def set_linkedin_solution(self, installed: bool) -> dict:
        return self.control("PUT", "linkedin-solution", json_body={"installed": installed})

    def options(self, logical_name: str, column: str) -> list[dict]:
        """The options a choice column offers now: [{"value": 0, "label": "Qualify"}, ...]."""
        return self.control("GET", f"options/{logical_name}/{column}")["options"]

    def set_options(self, logical_name: str, column: str, options: list[dict]) -> list[dict]:
        """Replace a choice column's options, as an admin customizing its option set does."""
        return self.control("PUT", f"options/{logical_name}/{column}",
                            json_body={"options": options})["options"]

    def reset_options(self, logical_name: str, column: str) -> list[dict]:
        """Give a choice column its seeded options back."""
        return self.control("DELETE", f"options/{logical_name}/{column}")["options"]

    def set_change_tracking(self, logical_name: str, enabled: bool) -> dict:
        return self.control("PUT", f"change-tracking/{logical_name}",
                            json_body={"enabled": enabled})

    def expire_tokens(self, refresh: bool = False) -> dict:
        """Expire every access token now (and revoke refresh tokens with refresh=True)."""
        return self.control("POST", "tokens/expire", json_body={"refresh": refresh})

    def token(self, email: str | None = None, lifetime: int | None = None) -> str:
        """An access token for a user, minted without a browser (default: the integration
        user). For tests that need "some user's token" rather than the sign-in flow."""
        body = {"email": email} if email else {}
        if lifetime is not None:
            body["lifetime"] = lifetime
        return self.control("POST", "tokens", json_body=body)["access_token"]

    def register_app(self, client_id: str, client_secret: str,
                     redirect_uris: list[str] | None = None, **extra) -> dict:
        return self.control("POST", "apps", json_body={
            "client_id": client_id, "client_secret": client_secret,
            "redirect_uris": redirect_uris or [], **extra})

    def reset(self) -> dict:
        """Back to the seeded org (rows, privileges, solution, change tracking, faults)."""
        return self.control("POST", "reset")

    def sign_in(self, auth_uri: str, email: str | None = None, *, cancel: bool = False,
                session: requests.Session | None = None) -> dict:
        """Play the person at the sign-in page: open `auth_uri`, click the user (or Cancel),
        and return the parameters the IdP sends to the redirect URI (code/state or error)."""
        session = session or self.session()
        page = session.get(auth_uri, timeout=30)
        if page.status_code != 200:
            raise EmulatorError(f"sign-in page answered {page.status_code}: {page.text[:300]}")
        match = re.search(r'<form method="post" action="([^"]*)"', page.text)
        if not match:
            raise EmulatorError("the sign-in page has no form")
        action = urllib.parse.urljoin(auth_uri, match.group(1).replace("&amp;", "&"))
        choice = {"cancel": "1"} if cancel else {"user": email or f"admin@{DEMO_DOMAIN}"}
        answer = session.post(action, data=choice, allow_redirects=False, timeout=30)
        if answer.status_code in (301, 302, 303):
            location = answer.headers["Location"]
            return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        if answer.status_code == 200 and "<form" in answer.text:  # response_mode=form_post
            return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', answer.text))
        raise EmulatorError(f"sign-in answered {answer.status_code}: {answer.text[:300]}")

    # -- lifecycle -----------------------------------------------------------------------------

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, wait, kill if needed; returns the exit code."""
        if self._session is not None:
            self._session.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def log(self) -> str:
        """What the emulator wrote to stderr so far."""
        return self.log_path.read_text() if self.log_path.exists() else ""


def start_emulator(data_path: str | Path, *, size: str = "small", https: bool = True,
                   port: int = 0, browser_port: int | None = None, rate_limit: str | None = None,
                   service_protection: dict | None = None, faults: dict | None = None,
                   fault_seed: int | None = None,
                   token_lifetime: int | None = None, seed_number: int | None = None,
                   extra_args: list[str] | None = None,
                   startup_timeout: float = 180) -> RunningEmulator:
    """Start `python -m dynamics_emulator serve` and wait for its ready line."""
    data_path = Path(data_path)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "dynamics_emulator", "serve", "--data", str(data_path),
               "--port", str(port), "--size", size]
    if https:
        command.append("--https")
    if browser_port is not None:
        command += ["--browser-port", str(browser_port)]
    if rate_limit:
        command += ["--rate-limit", rate_limit]
    if service_protection:
        command += ["--service-protection", json.dumps(service_protection)]
    if faults:
        command += ["--faults", json.dumps(faults)]
    if fault_seed is not None:
        command += ["--fault-seed", str(fault_seed)]
    if token_lifetime is not None:
        command += ["--token-lifetime", str(token_lifetime)]
    if seed_number is not None:
        command += ["--seed-number", str(seed_number)]
    command += extra_args or []

    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), environment.get("PYTHONPATH")) if p)
    log_path = data_path.with_suffix(data_path.suffix + ".log")
    log = log_path.open("ab")
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE,
                               stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    lines: queue.Queue = queue.Queue()

    def read_ready_line():
        lines.put(process.stdout.readline())

    threading.Thread(target=read_ready_line, daemon=True).start()
    try:
        line = lines.get(timeout=startup_timeout)
    except queue.Empty:
        process.kill()
        raise EmulatorError(f"the emulator printed no ready line within {startup_timeout} s; "
                            f"log:\n{log_path.read_text()}") from None
    if not line:
        process.wait(5)
        raise EmulatorError(f"the emulator exited with {process.returncode} before it was "
                            f"ready; log:\n{log_path.read_text()}")
    ready = json.loads(line)
    return RunningEmulator(process=process, ready=ready, data_path=data_path, log_path=log_path)


@pytest.fixture(scope="session")
def emulator_factory(tmp_path_factory):
    """Start extra emulators: `emulator_factory(size="demo", rate_limit="5/60")`.

    Each call gets its own data file unless `data_path` is given; all stop at session end.
    """
    started: list[RunningEmulator] = []

    def start(data_path: str | Path | None = None, **options) -> RunningEmulator:
        if data_path is None:
            data_path = tmp_path_factory.mktemp("emulator") / "org.db"
        running = start_emulator(data_path, **options)
        started.append(running)
        return running

    yield start
    for running in started:  # signal them all first: they stop in parallel
        if running.process.poll() is None:
            running.process.send_signal(signal.SIGTERM)
    for running in started:
        with contextlib.suppress(Exception):
            running.stop()


@pytest.fixture(scope="session")
def emulator(emulator_factory) -> RunningEmulator:
    """The shared emulator: a `small` org over https."""
    return emulator_factory(size="small", https=True)


@pytest.fixture
def emulator_clean(emulator):
    """The shared emulator with faults, service protection and request stats reset around the
    test (each test starts with a full API budget)."""
    emulator.reset_faults()
    emulator.reset_service_protection()
    emulator.reset_stats()
    yield emulator
    emulator.reset_faults()
    emulator.reset_service_protection()
