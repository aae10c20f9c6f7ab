"""Sync history: search, state and trigger filters, sort on every column, readable durations,
and a fixed number of queries per page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.models import SyncProblem, SyncRun
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db
URL = reverse("sync:history")


@pytest.fixture
def runs(contract):
    now = timezone.now()

    def run(name, *, hours_ago, took, **fields):
        started = now - timedelta(hours=hours_ago)
        return SyncRunFactory(
            contract=contract,
            started_at=started,
            finished_at=started + took if took is not None else None,
            phase=name,
            **fields,
        )

    return {
        "old": run("old", hours_ago=30, took=timedelta(minutes=3, seconds=12), requests=40,
                   trigger=SyncRun.Trigger.CONNECT),
        "failed": run("failed", hours_ago=20, took=timedelta(seconds=0.370340), requests=2,
                      state=SyncRun.State.FAILED, error_detail="HTTP 403 code 0x80040220"),
        "new": run("new", hours_ago=1, took=timedelta(seconds=42), requests=9,
                   trigger=SyncRun.Trigger.SCHEDULE),
        "running": run("running", hours_ago=0, took=None, requests=1,
                       state=SyncRun.State.RUNNING),
    }  # fmt: skip


def _phases(response) -> list[str]:
    return [run.phase for run in response.context["page"].object_list]


def test_newest_first_with_readable_durations(login, admin, runs):
    response = login(admin).get(URL)
    assert _phases(response) == ["running", "new", "failed", "old"]
    page = response.content.decode()
    assert "<td>3 min 12 s</td>" in page and "<td>0.4 s</td>" in page and "<td>42 s</td>" in page
    assert "0:00:00" not in page


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("started", ["old", "failed", "new", "running"]),
        ("took", ["failed", "new", "old", "running"]),
        ("-took", ["old", "new", "failed", "running"]),
        ("-requests", ["old", "new", "failed", "running"]),
        ("state", ["failed", "running", "new", "old"]),
        ("problems", ["running", "new", "old", "failed"]),
    ],
)
def test_it_sorts_by_each_column(login, admin, runs, sort, expected):
    SyncProblem.objects.create(run=runs["failed"], table="contact", reason="No name")
    assert _phases(login(admin).get(URL, {"sort": sort})) == expected


def test_the_search_finds_errors_and_problems(login, admin, runs):
    SyncProblem.objects.create(
        run=runs["old"], table="contact", crm_id="5a0c1e2d", reason="Contact has no name"
    )
    client = login(admin)
    assert _phases(client.get(URL, {"q": "0x80040220"})) == ["failed"]
    assert _phases(client.get(URL, {"q": "5A0C1E2D"})) == ["old"]
    assert _phases(client.get(URL, {"q": "no name"})) == ["old"]
    assert "No run matches these filters." in client.get(URL, {"q": "zzz"}).content.decode()


def test_the_state_and_trigger_filters(login, admin, runs):
    client = login(admin)
    assert _phases(client.get(URL, {"state": "failed"})) == ["failed"]
    assert _phases(client.get(URL, {"trigger": "connect"})) == ["old"]
    assert len(client.get(URL, {"state": "exploded"}).context["page"]) == 4


def test_another_contracts_runs_are_not_listed(login, admin, runs, outsider):
    SyncRunFactory(contract=outsider.contract, phase="theirs")
    assert "theirs" not in _phases(login(admin).get(URL, {"sort": "started"}))


@pytest.mark.parametrize("sort", ["-started", "took", "-problems", "trigger"])
def test_a_fixed_number_of_queries_at_two_sizes(
    login, admin, contract, sort, django_assert_max_num_queries
):
    def add(count):
        for run in SyncRunFactory.create_batch(count, contract=contract):
            SyncProblem.objects.create(run=run, table="account", reason="No name")

    client = login(admin)
    add(3)
    with django_assert_max_num_queries(10) as few:
        client.get(URL, {"sort": sort, "q": "name"})
    add(60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, {"sort": sort, "q": "name"})
    assert len(response.context["page"].object_list) == 50
