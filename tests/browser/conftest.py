"""The real stack for the browser journeys: the portal on a live server, the Dynamics emulator
process and a django-q2 worker process (not sync mode); chromium comes from
tests/browser_fixtures.py.

- Screenshots go to test-artifacts/screenshots/; run with UPDATE_DOCS_SCREENSHOTS=1 to refresh
  the few in docs/screenshots/ that the README shows.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import point_portal_at
from tests.factories import SeatFactory
from tests.processes import ROOT, manage, portal_env

ARTIFACTS = ROOT / "test-artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def browser_emulator(emulator_factory):
    """A demo-size org whose sign-in page is served over plain http (no certificate prompt)."""
    return emulator_factory(size="demo", browser_port=_free_port())


@pytest.fixture
def stack(transactional_db, live_server, settings, browser_emulator, monkeypatch, tmp_path):
    """The running product: returns an object with ``url``, ``emulator`` and ``worker``.

    The test process enqueues into the real broker (the database) instead of running tasks
    inline, and a ``qcluster`` process, configured like production, does the work.
    """
    from django_q.conf import Conf

    point_portal_at(settings, browser_emulator)
    monkeypatch.setattr(Conf, "SYNC", False)
    env = portal_env(
        browser_emulator,
        tmp_path,
        Q_WORKERS="1",
        Q_TIMEOUT="120",
        Q_RETRY="150",
        PORTAL_LOG_LEVEL="WARNING",
    )
    worker = manage(["qcluster"], env, tmp_path / "worker.log", group=True)
    stack = _Stack(url=live_server.url, emulator=browser_emulator, worker=worker, tmp=tmp_path)
    yield stack
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
    browser_emulator.reset()


class _Stack:
    def __init__(self, *, url, emulator, worker, tmp):
        self.url = url
        self.emulator = emulator
        self.worker = worker
        self.tmp = tmp

    def worker_log(self) -> str:
        return (self.tmp / "worker.log").read_text(errors="replace")


class Shots:
    """Numbered screenshots of one journey, in test-artifacts/ (and docs/ when asked)."""

    def __init__(self, journey: str):
        self.journey = journey
        self.count = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(self, page, name: str, *, docs: bool = False, full_page: bool = True) -> Path:
        """Save a screenshot; with ``docs=True`` and UPDATE_DOCS_SCREENSHOTS=1, also to docs/."""
        self.count += 1
        path = ARTIFACTS / f"{self.journey}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        if docs and os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
            target = ROOT / "docs" / "screenshots" / f"{self.journey}-{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        return path


@pytest.fixture
def shots(request):
    return Shots(request.node.name.removeprefix("test_"))


def wait_until(check, *, timeout: float = 60, interval: float = 0.5, message: str = ""):
    """Poll ``check()`` until it returns something truthy; fail with ``message`` after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(message or f"condition not met within {timeout} s")


DEMO_REPS = ["alex.morgan", "priya.shah", "sam.lee", "maria.garcia", "tom.becker"]


@pytest.fixture
def demo_team(contract):
    """The demo org's admin and sales reps hold seats (named as in the org); two seats free."""
    contract.purchased_seats = len(DEMO_REPS) + 3
    contract.save()
    people = [("admin", "Dana", "Admin", True)] + [
        (name, *[part.title() for part in name.split(".")], False) for name in DEMO_REPS
    ]
    seats = {}
    for name, first, last, is_admin in people:
        seats[name] = SeatFactory(
            contract=contract,
            admin=is_admin,
            user__email=f"{name}@contoso-demo.com",
            user__first_name=first,
            user__last_name=last,
        )
    return seats


@pytest.fixture
def synced(stack, demo_team, contract):
    """The demo network loaded, the contract connected as the integration user (through the real
    sign-in), the first import finished by the worker, and writeback of everything on."""
    from django.test import Client
    from django.urls import reverse

    from crm_settings.selectors import crm_settings_get
    from network.demo import network_seed
    from sync.models import SyncRun

    network_seed(size="demo")
    client = Client()
    client.force_login(demo_team["admin"].user)
    host = {"host": urlsplit(stack.url).netloc}
    started = client.post(
        reverse("crm_settings:connect"), {"environment_url": stack.emulator.base_url}, headers=host
    )
    params = stack.emulator.sign_in(started.url, "integration@contoso-demo.com")
    client.get(reverse("crm_settings:callback"), params, headers=host)
    wait_until(
        lambda: SyncRun.objects.filter(contract=contract, state="succeeded").exists(),
        timeout=120,
        message=f"the first import did not finish; worker log:\n{stack.worker_log()[-3000:]}",
    )
    settings = crm_settings_get(contract=contract)
    settings.writeback_enabled = settings.writeback_all = True
    settings.save()
    return stack
