"""Seat Management's *Export CSV*: every seat the filters select, with its CRM state and what the
import saved for it, streamed; admins only, their own contract only."""

import csv
import io

import pytest
from django.urls import reverse

from tests.factories import CrmConnectionFactory, SeatFactory, seats_bulk_create

pytestmark = pytest.mark.django_db

EXPORT = reverse("seats:export")


def _csv(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_the_export_has_every_seat_not_only_a_page(login, admin, contract):
    CrmConnectionFactory(contract=contract)
    seats_bulk_create(contract, 60)

    rows = _csv(login(admin).get(EXPORT))

    assert len(rows) == 61
    # The 11th bulk seat: matched, following auto sync, with imported Accounts and a Lead.
    holder = next(r for r in rows if r["Email"] == f"holder10@{contract.pk}.test")
    assert holder == {
        "Name": "Holder00010 Bulk", "Email": f"holder10@{contract.pk}.test", "Role": "Seat holder",
        "CRM user": "Holder00010 Bulk", "CRM user email": f"holder10@{contract.pk}.test",
        "In CRM": "Yes", "CRM sync": "On", "Accounts from CRM": "2", "Leads from CRM": "1",
        "Last import": holder["Last import"],
    }  # fmt: skip
    assert holder["Last import"].endswith("+00:00")
    unmatched = next(r for r in rows if r["Email"] == f"holder3@{contract.pk}.test")
    assert (unmatched["CRM user"], unmatched["In CRM"], unmatched["Accounts from CRM"]) == (
        "Not Matched", "No", "0",
    )  # fmt: skip


def test_the_export_follows_the_lists_filters_and_sort(login, admin, admin_only, contract):
    SeatFactory(contract=contract, user__email="zed@contoso.test", user__first_name="Zed")
    SeatFactory(contract=contract, user__email="amy@contoso.test", user__first_name="Amy")

    rows = _csv(login(admin).get(EXPORT, {"q": "contoso.test", "sort": "-email"}))
    only = _csv(login(admin).get(EXPORT, {"role": "admin_only"}))

    assert [r["Email"] for r in rows] == [
        "zed@contoso.test", "amy@contoso.test", "adminonly@contoso.test", "admin@contoso.test",
    ]  # fmt: skip
    assert [(r["Email"], r["CRM sync"]) for r in only] == [
        ("adminonly@contoso.test", "Admin only: nothing to sync")
    ]


def test_another_contracts_seats_are_never_exported(login, admin, outsider):
    assert [r["Email"] for r in _csv(login(admin).get(EXPORT))] == ["admin@contoso.test"]


def test_seat_holders_cannot_export(login, seat_holder):
    assert login(seat_holder).get(EXPORT).status_code == 403


@pytest.mark.parametrize("size", [5, 200])
def test_the_export_costs_the_same_queries_at_any_size(
    login, admin, contract, size, django_assert_max_num_queries
):
    seats_bulk_create(contract, size)
    client = login(admin)
    # Session, user, seat; the seats with their CRM state and imports (one query, streamed).
    with django_assert_max_num_queries(4):
        assert len(_csv(client.get(EXPORT))) == size + 1
