"""Fixtures for the dynamics client's tests: mocked HTTP for unit tests, the emulator for
contract tests (test_contract_*.py)."""

import pytest
import responses

from dynamics import DynamicsClient, RetryPolicy
from tests.dynamics.client_fakes import ALLOWED, ORG, CountingAuth, FakeTime

# The emulator fixtures (a real subprocess over HTTPS) come from tests/conftest.py's plugin.


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def auth():
    return CountingAuth()


@pytest.fixture
def client(fake_time, auth):
    policy = RetryPolicy(
        max_attempts=4, base_delay=0.5, max_delay=8, max_retry_after=60, budget=300
    )
    return DynamicsClient(
        ORG,
        auth,
        retry=policy,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        extra_allowed_hosts=ALLOWED,
    )


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
