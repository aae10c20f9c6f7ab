"""Shared fixtures for the dynamics client's unit tests (HTTP mocked with `responses`)."""

import pytest
import responses
from client_fakes import ORG, CountingAuth, FakeTime

from dynamics import DynamicsClient, RetryPolicy


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
    return DynamicsClient(ORG, auth, retry=policy, sleep=fake_time.sleep, clock=fake_time.clock)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
