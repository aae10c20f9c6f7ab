"""Contract: the client stays correct while the emulator fails 20% of requests.

Faults are seeded (`fault_seed`), so a failing run can be repeated exactly.
"""

import time
import uuid

import pytest

from dynamics import Operation, RetryPolicy
from tests.dynamics.contract_support import app_client

pytestmark = pytest.mark.emulator

# Injected 429s and 503s say "Retry-After: 0": the client resends at once, honouring the wait
# (it never cuts a server's Retry-After short, so a longer one would end the call instead).
TWENTY_PERCENT = {"error_rate": 0.10, "throttle_rate": 0.05, "drop_rate": 0.05, "retry_after": 0}
WRITE_FAULTS = {
    "error_rate": 0.05,
    "throttle_rate": 0.05,
    "drop_rate": 0.05,
    "drop_after_write_rate": 0.05,
    "retry_after": 0,
}


@pytest.fixture(scope="module")
def medium(emulator_factory):
    """A medium org: 20,000 contacts."""
    return emulator_factory(size="medium")


@pytest.fixture
def faulty(medium):
    medium.reset_faults()
    yield medium
    medium.reset_faults()


def test_a_20000_row_read_under_faults_returns_every_row_once(faulty):
    crm = app_client(faulty)
    crm.whoami()  # the token is fetched before the faults start
    expected = faulty.counts()["contacts"]
    assert expected == 20_000
    faulty.set_faults(**TWENTY_PERCENT, fault_seed=20)
    ids = [
        row["contactid"]
        for page in crm.iter_pages("contacts", select=["fullname", "emailaddress1"], page_size=500)
        for row in page.rows
    ]
    assert len(ids) == expected
    assert len(set(ids)) == expected
    assert crm.stats.retries > 0
    assert crm.stats.throttled > 0


def test_a_read_with_malformed_answers_is_repeated_until_whole(faulty):
    crm = app_client(faulty)
    crm.whoami()
    faulty.set_faults(malformed_rate=0.2, fault_seed=7)
    ids = [
        row["accountid"]
        for page in crm.iter_pages("accounts", select="name", page_size=250)
        for row in page.rows
    ]
    assert len(ids) == len(set(ids)) == faulty.counts()["accounts"]
    assert crm.stats.retries > 0


def _batch_of_creates(crm, emulator, faults, seed):
    ids = [str(uuid.uuid4()) for _ in range(1000)]
    before = emulator.counts()["tasks"]
    emulator.set_faults(**faults, fault_seed=seed)
    results = crm.batch(
        [
            Operation.create("tasks", {"subject": f"fault test {n}"}, row_id)
            for n, row_id in enumerate(ids)
        ]
    )
    emulator.reset_faults()
    assert [result.row_id for result in results] == ids
    assert all(result.ok for result in results), [r.error for r in results if not r.ok][:3]
    assert emulator.counts()["tasks"] == before + 1000
    return results


def test_a_batch_of_1000_creates_under_faults_leaves_exactly_1000_rows(faulty):
    crm = app_client(
        faulty,
        retry=RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.05, max_retry_after=0.05),
    )
    crm.whoami()
    resent = False
    for seed in range(1, 30):
        _batch_of_creates(crm, faulty, WRITE_FAULTS, seed)
        resent = resent or crm.stats.retries > 0
        if resent:
            break
    assert resent, "no seed made the batch fail once; the retry path went untested"


def test_creates_whose_answer_was_lost_are_recognised_as_already_created(faulty):
    crm = app_client(
        faulty,
        retry=RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.05, max_retry_after=0.05),
    )
    crm.whoami()
    for seed in range(1, 30):
        results = _batch_of_creates(crm, faulty, {"drop_after_write_rate": 0.5}, seed)
        if any(result.already_existed for result in results):
            # The first send was applied in full, so every create came back as a duplicate.
            assert all(result.already_existed for result in results)
            return
    pytest.fail("no seed dropped the answer to an applied batch")


def test_service_protection_429_waits_for_retry_after(emulator_factory):
    limited = emulator_factory(size="small", rate_limit="20/2")
    crm = app_client(limited, retry=RetryPolicy(max_attempts=6, max_retry_after=3, budget=30))
    started = time.monotonic()
    ids = [
        row["contactid"]
        for page in crm.iter_pages("contacts", select="fullname", page_size=50)
        for row in page.rows
    ]
    assert len(ids) == len(set(ids)) == limited.counts()["contacts"]
    assert crm.stats.throttled > 0
    assert time.monotonic() - started >= 1  # it really waited
