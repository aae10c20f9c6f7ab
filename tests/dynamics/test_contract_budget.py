"""Contract: the service protection budget and the Retry-After rule, against the emulator.

The emulator enforces Dataverse's limits per user (here lowered through its control endpoint so a
test reaches them in a few requests) and counts, by its own clock, every request that arrives
before the Retry-After it announced (`early`). The client's session records when each request
left and what came back, so both sides show that nothing is sent before a server's Retry-After.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from dynamics import RetryPolicy, Throttled
from dynamics.http import DynamicsSession
from tests.dynamics.contract_support import app_client

pytestmark = pytest.mark.emulator

# Waits up to 5 s for a Retry-After: enough for the 1-second windows used below.
PATIENT = RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.05, max_retry_after=5)


@dataclass
class Exchange:
    url: str
    sent: float
    answered: float
    status: int
    retry_after: int | None


class RecordingSession(DynamicsSession):
    """The client's real session, noting when each Web API request left and its answer."""

    def __init__(self, **options):
        super().__init__(**options)
        self.exchanges: list[Exchange] = []

    def request(self, method, url, *args, **kwargs):
        sent = time.monotonic()
        response = super().request(method, url, *args, **kwargs)
        if "/api/data/" in url:
            retry_after = response.headers.get("Retry-After")
            self.exchanges.append(
                Exchange(
                    url,
                    sent,
                    time.monotonic(),
                    response.status_code,
                    int(retry_after) if retry_after else None,
                )
            )
        return response


def recording_client(emulator, **options):
    session = RecordingSession(ca_bundle=emulator.ca_cert)
    return app_client(emulator, session=session, **options), session


def test_every_answer_s_budget_headers_are_read(emulator_clean):
    crm = app_client(emulator_clean)
    crm.whoami()
    first = crm.budget.reading()
    assert first.requests_remaining == 5999  # Dataverse's 6,000, this request counted
    assert 1199 < first.seconds_remaining <= 1200  # "1,199.98": grouped, two decimals
    assert first.observed_at is not None
    assert first.retry_at is None
    list(crm.iter_pages("contacts", select="fullname", page_size=500))
    later = crm.budget.reading()
    assert later.requests_remaining == 5999 - later.requests_sent + 1
    assert later.requests_sent == crm.stats.requests
    assert later.seconds_remaining < first.seconds_remaining


def test_no_request_is_sent_before_the_servers_retry_after(emulator_clean):
    emulator_clean.set_service_protection(requests=3, window=1)
    crm, session = recording_client(emulator_clean, retry=PATIENT)
    ids = [
        row["contactid"]
        for page in crm.iter_pages("contacts", select="fullname", page_size=250)
        for row in page.rows
    ]
    assert len(ids) == len(set(ids)) == emulator_clean.counts()["contacts"]
    throttles = [i for i, e in enumerate(session.exchanges) if e.status == 429]
    assert throttles, "the limit was never reached; the Retry-After path went untested"
    for index in throttles:
        told = session.exchanges[index]
        following = session.exchanges[index + 1]
        assert following.sent >= told.answered + told.retry_after
    protection = emulator_clean.service_protection()
    assert protection["throttled"] == len(throttles)
    assert protection["early"] == 0
    assert crm.stats.throttled == len(throttles)


def test_a_wait_longer_than_the_call_can_afford_ends_it_with_when_to_retry(emulator_clean):
    emulator_clean.set_service_protection(requests=2, window=300)
    crm, session = recording_client(emulator_clean, retry=PATIENT)
    crm.whoami()
    crm.whoami()
    before = datetime.now(UTC)
    with pytest.raises(Throttled) as caught:
        crm.whoami()
    error = caught.value
    assert error.retryable
    assert error.code == "0x80072322"
    assert error.limit == "number of requests"
    assert 290 < error.retry_after <= 300
    assert before + timedelta(seconds=290) < error.retry_at <= before + timedelta(seconds=301)
    assert "Try again after" in str(error)
    assert len(session.exchanges) == 3  # the 429 was not resent

    with pytest.raises(Throttled) as again:
        list(crm.iter_rows("accounts", select="name"))
    assert again.value.attempts == 0
    assert len(session.exchanges) == 3  # a later call is refused without being sent
    protection = emulator_clean.service_protection()
    assert protection["throttled"] == 1
    assert protection["early"] == 0
    assert crm.budget.reading().waiting


def test_the_execution_time_limit_is_reported_as_such(emulator_clean):
    emulator_clean.set_service_protection(execution_seconds=0.001)
    crm = app_client(emulator_clean, retry=PATIENT)
    next(crm.iter_pages("contacts", select="fullname", page_size=500))  # well over 1 ms
    with pytest.raises(Throttled) as caught:
        crm.whoami()
    assert caught.value.code == "0x80072321"
    assert caught.value.limit == "combined execution time"
    assert crm.budget.reading().seconds_remaining == 0
