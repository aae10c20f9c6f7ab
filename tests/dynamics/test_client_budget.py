"""The client's budget: the two x-ms-ratelimit headers, the server's hold, and the listener."""

import threading
from datetime import UTC, datetime, timedelta

from dynamics.budget import (
    REQUESTS_REMAINING_HEADER,
    TIME_REMAINING_HEADER,
    Budget,
    parse_requests_remaining,
    parse_seconds_remaining,
)
from tests.dynamics.client_fakes import API, FakeTime


class WallClock:
    def __init__(self, fake: FakeTime):
        self.fake = fake
        self.start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=self.fake.now - 1000)


def _budget():
    fake = FakeTime()
    return Budget(clock=fake.clock, now=WallClock(fake)), fake


def test_the_headers_are_read_as_dataverse_writes_them():
    assert parse_requests_remaining("5999") == 5999
    assert parse_seconds_remaining("1,199.46") == 1199.46
    assert parse_seconds_remaining("0.00") == 0
    for malformed in (None, "", "lots", "-3", "1.5.2"):
        assert parse_requests_remaining(malformed) is None
        assert parse_seconds_remaining(malformed) is None


def test_a_reading_keeps_the_last_good_values():
    budget, fake = _budget()
    assert budget.reading().observed_at is None
    budget.observe({REQUESTS_REMAINING_HEADER: "5999", TIME_REMAINING_HEADER: "1,200.00"})
    fake.now += 10
    budget.observe({REQUESTS_REMAINING_HEADER: "5998", TIME_REMAINING_HEADER: "garbled"})
    budget.observe({"Content-Type": "application/json"})  # an answer without the headers
    reading = budget.reading()
    assert (reading.requests_remaining, reading.seconds_remaining) == (5998, 1200.0)
    assert reading.observed_at == datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC)


def test_a_hold_is_never_cut_short_and_ends_on_time():
    budget, fake = _budget()
    budget.hold(300)
    budget.hold(5)  # a shorter wait told later does not shorten the first
    assert budget.wait_left()[0] == 300
    reading = budget.reading()
    assert reading.waiting
    assert reading.retry_at == datetime(2026, 1, 5, 9, 5, tzinfo=UTC)
    fake.now += 300
    assert budget.wait_left()[0] == 0
    assert not budget.reading().waiting


def test_a_hold_can_be_seeded_from_a_stored_moment():
    budget, _ = _budget()
    budget.hold_until(datetime(2026, 1, 5, 9, 2, tzinfo=UTC))
    assert budget.wait_left()[0] == 120
    budget.hold_until(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))  # long past: no effect
    assert budget.wait_left()[0] == 120


def test_the_listener_hears_at_most_every_so_often_and_at_once_on_a_hold():
    budget, fake = _budget()
    heard = []
    budget.listen(heard.append, every=30)
    for _ in range(3):
        budget.observe({REQUESTS_REMAINING_HEADER: "10"})
        fake.now += 10
    assert len(heard) == 1  # at 0 s; 10 s and 20 s were too soon
    budget.observe({REQUESTS_REMAINING_HEADER: "7"})  # 30 s
    budget.hold(60)
    assert [r.requests_remaining for r in heard] == [10, 7, 7]
    assert heard[-1].waiting


def test_requests_counted_from_many_threads_add_up():
    budget, _ = _budget()
    threads = [
        threading.Thread(target=lambda: [budget.count_request() for _ in range(1000)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert budget.reading().requests_sent == 4000


def test_every_answer_feeds_the_client_s_budget(client, mocked):
    mocked.add(
        "GET",
        f"{API}WhoAmI",
        json={"UserId": "0f8fad5b-d9cb-469f-a165-70867728950e"},
        headers={REQUESTS_REMAINING_HEADER: "42", TIME_REMAINING_HEADER: "1,000.50"},
    )
    client.whoami()
    reading = client.budget.reading()
    assert (reading.requests_remaining, reading.seconds_remaining) == (42, 1000.5)
    assert reading.requests_sent == client.stats.requests == 1
