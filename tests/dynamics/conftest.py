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


# --- Replayed Microsoft examples (test_replay_*.py) -------------------------------------------


@pytest.fixture(scope="session")
def replay_server(tmp_path_factory):
    """One HTTPS server for the session that replays recorded Dataverse answers."""
    from tests.dynamics.replay_server import ReplayServer, self_signed

    cert_file, key_file = self_signed(tmp_path_factory.mktemp("replay"))
    server = ReplayServer(cert_file, key_file)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def replay(replay_server):
    """The replay server with nothing queued and nothing received."""
    replay_server.queue.clear()
    replay_server.received.clear()
    return replay_server


@pytest.fixture
def replay_client(replay, fake_time):
    """A DynamicsClient talking to the replay server over real HTTPS, with a fake clock (waits
    are recorded in ``fake_time.sleeps``, not slept)."""
    from dynamics import StaticTokenAuth, make_session

    policy = RetryPolicy(
        max_attempts=4, base_delay=0.5, max_delay=8, max_retry_after=60, budget=300
    )
    client = DynamicsClient(
        replay.origin,
        StaticTokenAuth("replay-token"),
        session=make_session(ca_bundle=str(replay.cert_file)),
        retry=policy,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        extra_allowed_hosts=(replay.netloc,),
    )
    yield client
    client.close()
