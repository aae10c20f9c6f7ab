"""Won revenue: seat holders' won opportunities per currency, by seat holder and by month, with
those saved in the portal before the win; never summed across currencies; CSV export."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from crm_settings.models import CrmSettings
from tests.factories import CrmOpportunityFactory, CrmUserFactory, SeatFactory
from tests.reports.conftest import map_to_crm, win

pytestmark = pytest.mark.django_db

PAGE = reverse("reports:won_revenue")
CSV = reverse("reports:won_revenue_csv")
MARCH = {"start": "2026-01", "end": "2026-03"}


def _csv(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def _moment(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 9, 0, tzinfo=UTC)


@pytest.fixture
def alex(contract):
    return SeatFactory(contract=contract, user__first_name="Alex", user__last_name="Morgan")


@pytest.fixture
def priya(contract):
    return SeatFactory(contract=contract, user__first_name="Priya", user__last_name="Shah")


def test_totals_are_per_currency_and_never_added_across(login, admin, alex, currencies):
    crm_user = map_to_crm(alex)
    win(crm_user, value=1000, currency=currencies["USD"])
    win(crm_user, value=2500, currency=currencies["USD"])
    win(crm_user, value=400, currency=currencies["EUR"])

    report = login(admin).get(PAGE, MARCH).context["report"]

    totals = {f.currency.label: (f.won, f.total) for f in report.totals}
    assert totals == {"EUR": (1, Decimal(400)), "USD": (2, Decimal(3500))}
    page = login(admin).get(PAGE, MARCH).content.decode()
    assert "$3,500.00" in page and "€400.00" in page
    assert "3,900" not in page, "dollars and euros are never added"


def test_by_seat_holder_and_by_month(login, admin, alex, priya, currencies):
    usd = currencies["USD"]
    alex_crm, priya_crm = map_to_crm(alex), map_to_crm(priya)
    win(alex_crm, value=100, currency=usd, closed=date(2026, 1, 5))
    win(alex_crm, value=200, currency=usd, closed=date(2026, 3, 5))
    win(priya_crm, value=50, currency=currencies["GBP"], closed=date(2026, 3, 31))

    response = login(admin).get(PAGE, MARCH)

    by_seat = {seat.user.first_name: row for seat, row in response.context["seat_rows"]}
    assert [(f.currency.label, f.won, f.total) for f in by_seat["Alex"].figures] == [
        ("USD", 2, Decimal(300))
    ]
    assert [(f.currency.label, f.total) for f in by_seat["Priya"].figures] == [("GBP", Decimal(50))]
    by_month = response.context["report"].by_month
    assert [row.key for row in by_month] == [date(2026, 3, 1), date(2026, 1, 1)]
    assert sorted((f.currency.label, f.total) for f in by_month[0].figures) == [
        ("GBP", Decimal(50)),
        ("USD", Decimal(200)),
    ]


def test_it_counts_the_wins_saved_in_the_portal_before_the_close_date(
    login, admin, alex, currencies
):
    crm_user = map_to_crm(alex)
    usd = currencies["USD"]
    win(crm_user, value=10, currency=usd, closed=date(2026, 3, 10), saved_at=_moment(1))
    win(crm_user, value=10, currency=usd, closed=date(2026, 3, 10), saved_at=_moment(10))
    win(crm_user, value=10, currency=usd, closed=date(2026, 3, 10), saved_at=None)

    (total,) = login(admin).get(PAGE, MARCH).context["report"].totals

    assert (total.won, total.saved_before_win, total.saved_share) == (3, 1, 33)


def test_only_seat_holders_wins_in_the_period_count(
    login, admin, alex, admin_only, contract, currencies
):
    usd, alex_crm = currencies["USD"], map_to_crm(alex)
    win(alex_crm, value=10, currency=usd)
    win(alex_crm, value=99, currency=usd, closed=date(2025, 12, 31))  # before the period
    win(map_to_crm(admin_only), value=20, currency=usd)  # Admin only: no seat features
    win(CrmUserFactory(contract=contract), value=30, currency=usd)  # no seat at all
    CrmOpportunityFactory(contract=contract, owner_id=map_to_crm(admin).crm_id, won_value=None)

    (total,) = login(admin).get(PAGE, MARCH).context["report"].totals

    assert (total.won, total.total) == (1, Decimal(10))


def test_a_win_without_a_value_is_counted_not_added(login, admin, alex, currencies):
    crm_user = map_to_crm(alex)
    win(crm_user, value=None, currency=currencies["USD"])
    win(crm_user, value=70, currency=currencies["USD"])

    (total,) = login(admin).get(PAGE, MARCH).context["report"].totals

    assert (total.won, total.total, total.without_value) == (2, Decimal(70), 1)


def test_a_base_currency_field_is_shown_as_the_base_currency(
    login, admin, alex, contract, currencies
):
    CrmSettings.objects.create(contract=contract, won_value_column="actualvalue_base")
    crm_user = map_to_crm(alex)
    win(crm_user, value=100, currency=currencies["USD"])
    win(crm_user, value=100, currency=currencies["EUR"])

    response = login(admin).get(PAGE, MARCH)

    (total,) = response.context["report"].totals
    assert (total.currency.label, total.total) == ("Base currency", Decimal(200))
    assert "holds amounts in your CRM's base currency" in response.content.decode()


def test_another_contracts_wins_are_never_shown(login, admin, outsider, currencies):
    foreign = SeatFactory(contract=outsider.contract)
    win(map_to_crm(foreign), value=5000, currency=currencies["USD"])

    response = login(admin).get(PAGE, MARCH)

    assert response.context["report"].totals == []
    assert "No opportunity owned by a seat holder was won" in response.content.decode()
    assert _csv(login(admin).get(CSV, MARCH)) == []


def test_a_bad_period_says_so_and_shows_the_default_months(login, admin):
    with time_machine.travel(datetime(2026, 5, 20, 12, tzinfo=UTC)):
        response = login(admin).get(PAGE, {"start": "2026-13", "end": "soon"})
        swapped = login(admin).get(PAGE, {"start": "2026-04", "end": "2026-01"})

    assert response.status_code == 200
    assert "Enter a month as YYYY-MM" in response.content.decode()
    report = response.context["report"]
    assert (report.start, report.end) == (date(2025, 6, 1), date(2026, 5, 31))
    assert "The first month comes after the last" in swapped.content.decode()


def test_a_csv_asked_with_a_bad_period_goes_back_to_the_page_with_the_message(login, admin):
    response = login(admin).get(CSV, {"start": "March"}, follow=True)
    assert "Enter a month as YYYY-MM" in response.content.decode()


def test_the_csv_has_a_row_per_seat_holder_month_and_currency(login, admin, alex, currencies):
    crm_user = map_to_crm(alex)
    win(crm_user, value=100, currency=currencies["USD"], closed=date(2026, 2, 3))
    win(
        crm_user,
        value=150,
        currency=currencies["USD"],
        closed=date(2026, 2, 20),
        saved_at=_moment(1, 2),
    )
    win(crm_user, value=80, currency=currencies["EUR"], closed=date(2026, 3, 1))

    response = login(admin).get(CSV, MARCH)

    assert "won-revenue" in response["Content-Disposition"]
    rows = _csv(response)
    assert [(r["Month"], r["Currency"], r["Won opportunities"], r["Won value"]) for r in rows] == [
        ("2026-02", "USD", "2", "250.00"),
        ("2026-03", "EUR", "1", "80.00"),
    ]
    assert rows[0]["Seat holder"] == "Alex Morgan"
    assert rows[0]["Saved in the portal before the win"] == "1"


@pytest.mark.parametrize("holders", [2, 20])
def test_the_page_costs_the_same_queries_at_any_size(
    login, admin, contract, currencies, holders, django_assert_max_num_queries
):
    for n in range(holders):
        crm_user = map_to_crm(SeatFactory(contract=contract))
        for currency in currencies.values():
            win(crm_user, value=n + 1, currency=currency, closed=date(2026, 1 + n % 3, 2))
    client = login(admin)
    # Session, user, seat, settings; seats counted and paged; currencies; totals, months, seats.
    with django_assert_max_num_queries(10):
        response = client.get(PAGE, MARCH)
    assert len(response.context["seat_rows"]) == holders
    # Session, user, seat, settings; currencies, seat names, the grouped rows (streamed).
    with django_assert_max_num_queries(7):
        rows = _csv(client.get(CSV, MARCH))
    assert len(rows) == holders * 3
