"""The unresolved-task report's search, task filter and sort, at a fixed number of queries."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import CompanyFactory, OutboxEntryFactory, SeatFactory

pytestmark = pytest.mark.django_db
URL = reverse("writeback:unresolved")


def _open(seat, *, last_name, days_ago=0, body="Hello", **extra):
    return OutboxEntryFactory(
        message__thread__seat=seat,
        message__thread__member__first_name="Pat",
        message__thread__member__last_name=last_name,
        message__body=body,
        sent=True,
        written_open=True,
        sent_at=timezone.now() - timedelta(days=days_ago),
        **extra,
    )


def _note_on_company(seat, name, days_ago=0):
    return OutboxEntryFactory(
        on_note=True,
        note__seat=seat,
        note__member=None,
        note__company=CompanyFactory(name=name),
        sent=True,
        written_open=True,
        sent_at=timezone.now() - timedelta(days=days_ago),
    )


def _about(response) -> list[str]:
    return [str(entry.about) for entry in response.context["page"].object_list]


@pytest.fixture
def report(seat_holder):
    _open(seat_holder, last_name="Young", days_ago=3, body="About the renewal")
    _open(seat_holder, last_name="Adams", days_ago=1)
    _note_on_company(seat_holder, "Monarch Ltd", days_ago=2)


def test_newest_first_by_default(login, seat_holder, report):
    response = login(seat_holder).get(URL)
    assert _about(response) == ["Pat Adams", "Monarch Ltd", "Pat Young"]
    assert 'aria-sort="descending"' in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("copied", ["Pat Young", "Monarch Ltd", "Pat Adams"]),
        ("about", ["Pat Adams", "Monarch Ltd", "Pat Young"]),
        ("-about", ["Pat Young", "Monarch Ltd", "Pat Adams"]),
        ("task", ["Pat Adams", "Pat Young", "Monarch Ltd"]),
    ],
)
def test_it_sorts_by_each_column(login, seat_holder, report, sort, expected):
    assert _about(login(seat_holder).get(URL, {"sort": sort})) == expected


def test_the_search_looks_in_who_it_is_about_and_what_was_written(login, seat_holder, report):
    client = login(seat_holder)
    assert _about(client.get(URL, {"q": "monarch"})) == ["Monarch Ltd"]
    assert _about(client.get(URL, {"q": "renewal"})) == ["Pat Young"]
    assert _about(client.get(URL, {"q": "pat adams"})) == ["Pat Adams"]
    empty = client.get(URL, {"q": "zebra"}).content.decode()
    assert "No unresolved task matches these filters." in empty


def test_the_task_filter(login, seat_holder, report):
    assert _about(login(seat_holder).get(URL, {"type": "note"})) == ["Monarch Ltd"]
    assert len(login(seat_holder).get(URL, {"type": "nonsense"}).context["page"]) == 3


def test_admins_sort_and_search_by_seat_holder_too(login, admin, seat_holder, report):
    _open(admin, last_name="Zed")
    client = login(admin)
    by_seat = client.get(URL, {"sort": "seat"})
    assert [e.seat.user.email for e in by_seat.context["page"]][0] == "admin@contoso.test"
    assert _about(client.get(URL, {"q": "admin@contoso"})) == ["Pat Zed"]
    # A seat holder's search never finds a colleague's items.
    assert _about(login(seat_holder).get(URL, {"q": "Zed"})) == []


@pytest.mark.parametrize("sort", ["-copied", "about", "seat", "task"])
def test_a_fixed_number_of_queries_at_two_sizes(login, admin, sort, django_assert_max_num_queries):
    def add(count):
        for number in range(count):
            seat = SeatFactory(contract=admin.contract)
            _open(seat, last_name=f"N{number}")
            _note_on_company(seat, f"Company {number}")

    client = login(admin)
    add(2)
    with django_assert_max_num_queries(10) as few:
        client.get(URL, {"sort": sort, "q": "n"})
    add(40)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, {"sort": sort, "q": "n"})
    assert len(response.context["page"].object_list) == 50
