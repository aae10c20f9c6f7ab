"""Fixtures for the alerts' tests: the portal's public address, one import or check at a time,
and the emulator's LinkedIn solution put back after a test removes it.

Alert mails go out through a django-q2 task enqueued on commit; the test settings run tasks in
the process (``sync``), so a check run through ``check()`` has sent its mails when it returns,
into pytest-django's ``mailoutbox``.
"""

import pytest

from alerts.services import incidents_update
from sync.runs import sync_run_claim, sync_run_request
from sync.services import sync_run_execute

PORTAL = "https://crm-sync.example.test"


@pytest.fixture(autouse=True)
def portal_base_url(settings):
    settings.PORTAL_BASE_URL = PORTAL


@pytest.fixture
def check(django_capture_on_commit_callbacks):
    """``check()``: the minute's incident check, its mails sent; returns what it changed."""

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return incidents_update()

    return run


@pytest.fixture
def run_sync():
    """``run_sync(contract)``: one import, in this process; returns the finished run."""

    def run(contract, trigger="manual"):
        run, _ = sync_run_request(contract=contract, trigger=trigger)
        assert sync_run_claim(run=run)
        sync_run_execute(run=run)
        run.refresh_from_db()
        return run

    return run


@pytest.fixture
def linkedin_solution(dynamics):
    """The emulator's LinkedIn solution, installed again after the test."""
    yield dynamics
    dynamics.set_linkedin_solution(True)
