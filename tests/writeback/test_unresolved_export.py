"""*Export CSV* of the unresolved-task report: every open item as the page shows it (a seat
holder's own, an admin's whole contract), streamed."""

import csv
import io

import pytest
from django.urls import reverse

from tests.factories import OutboxEntryFactory, SeatFactory

pytestmark = pytest.mark.django_db

EXPORT = reverse("writeback:unresolved_export")


def _csv(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def _open(seat, **extra):
    return OutboxEntryFactory(
        message__thread__seat=seat, sent=True, written_open=True, sent_at="2026-01-05T10:00Z",
        **extra,
    )  # fmt: skip


def test_a_seat_holder_exports_their_own_items_and_an_admin_the_contracts(
    login, seat_holder, admin
):
    mine = _open(seat_holder, message__body="Hello there")
    _open(admin)
    OutboxEntryFactory(message__thread__seat=seat_holder, sent=True)  # closed on its record

    rows = _csv(login(seat_holder).get(EXPORT))

    assert rows == [
        {
            "Task": "Unassigned Message Task",
            "About": str(mine.message.thread.member),
            "What was written": "Hello there",
            "Seat holder": "rep@contoso.test",
            "Copied (UTC)": "2026-01-05T10:00:00+00:00",
            "CRM activity link": mine.crm_url,
            "CRM activity id": str(mine.activity_id),
        }
    ]
    assert len(_csv(login(admin).get(EXPORT))) == 2


def test_another_contracts_items_are_never_exported(login, admin, outsider):
    _open(outsider)
    assert _csv(login(admin).get(EXPORT)) == []


@pytest.mark.parametrize("count", [2, 70])
def test_the_export_costs_the_same_queries_at_any_size(
    login, admin, count, django_assert_max_num_queries
):
    for _ in range(count):
        _open(SeatFactory(contract=admin.contract))
    OutboxEntryFactory(on_note=True, note__seat=admin, sent=True, written_open=True)
    client = login(admin)
    # Session, user, seat; the items with what they are about (one query, streamed).
    with django_assert_max_num_queries(4):
        rows = _csv(client.get(EXPORT))
    assert len(rows) == count + 1
    assert "Unassigned Note Task" in {row["Task"] for row in rows}
