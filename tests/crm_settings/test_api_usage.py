"""The contract's API usage, hour by hour: every stored budget reading adds the requests sent,
the least of the budget left and Dynamics' waits to the hour it was taken in; the overview reads
it per day, in any time zone."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_settings.budget import api_usage_per_day, api_usage_record, connection_budget_record
from crm_settings.crm import open_client
from crm_settings.models import ApiUsage
from dynamics import BudgetReading
from tests.factories import ContractFactory, CrmConnectionFactory

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 5, 4, 9, 20, tzinfo=UTC)


def _reading(at: datetime, *, left=None, seconds=None, retry_at=None, sent=0) -> BudgetReading:
    return BudgetReading(
        requests_remaining=left,
        seconds_remaining=seconds,
        observed_at=at if left is not None or seconds is not None else None,
        retry_at=retry_at,
        requests_sent=sent,
        taken_at=at,
    )


@pytest.mark.emulator
def test_a_client_adds_its_requests_and_the_budget_left_to_the_hour(crm_contract, dynamics):
    dynamics.reset_service_protection()
    ApiUsage.objects.filter(contract=crm_contract).delete()  # what connecting sent
    with open_client(crm_contract.crm_connection) as client:
        client.whoami()
        client.whoami()
    usage = ApiUsage.objects.get(contract=crm_contract)
    assert usage.requests_sent == 2
    assert usage.lowest_requests_remaining == 5998
    assert usage.requests_limit == 6000
    assert 1199 < usage.seconds_limit <= 1200
    assert usage.lowest_seconds_remaining <= usage.seconds_limit
    assert usage.waits == 0
    assert usage.hour.minute == usage.hour.second == 0


def test_readings_of_one_hour_add_up_and_keep_the_lowest_left():
    contract = ContractFactory()
    api_usage_record(
        contract_id=contract.pk, reading=_reading(MORNING, left=5000), sent=10, waited=False
    )
    api_usage_record(
        contract_id=contract.pk,
        reading=_reading(MORNING + timedelta(minutes=30), left=4000, seconds=900.5),
        sent=5,
        waited=True,
    )
    api_usage_record(
        contract_id=contract.pk,
        reading=_reading(MORNING + timedelta(minutes=35), left=5900),
        sent=1,
        waited=False,
    )
    usage = ApiUsage.objects.get(contract=contract)
    assert usage.hour == datetime(2026, 5, 4, 9, tzinfo=UTC)
    assert usage.requests_sent == 16
    assert usage.lowest_requests_remaining == 4000
    assert usage.requests_limit == 5901
    assert usage.lowest_seconds_remaining == 900.5
    assert usage.waits == 1


def test_the_next_hour_starts_a_row_of_its_own():
    contract = ContractFactory()
    for minutes in (0, 30, 50):
        api_usage_record(
            contract_id=contract.pk,
            reading=_reading(MORNING + timedelta(minutes=minutes), left=100),
            sent=1,
            waited=False,
        )
    hours = list(ApiUsage.objects.filter(contract=contract).order_by("hour"))
    assert [(u.hour.hour, u.requests_sent) for u in hours] == [(9, 2), (10, 1)]


def test_a_reading_with_nothing_new_writes_nothing():
    contract = ContractFactory()
    api_usage_record(contract_id=contract.pk, reading=_reading(MORNING), sent=0, waited=False)
    assert not ApiUsage.objects.filter(contract=contract).exists()


def test_a_longer_retry_after_counts_as_one_wait_and_the_same_one_again_does_not():
    connection = CrmConnectionFactory()
    retry_at = MORNING + timedelta(minutes=2)
    for _ in range(2):
        connection_budget_record(
            connection_id=connection.pk,
            contract_id=connection.contract_id,
            reading=_reading(MORNING, left=0, retry_at=retry_at),
            sent=1,
        )
    usage = ApiUsage.objects.get(contract=connection.contract)
    assert (usage.requests_sent, usage.waits, usage.lowest_requests_remaining) == (2, 1, 0)


def test_days_are_cut_in_the_time_zone_asked_for():
    """GIVEN requests at 23:30 and 00:30 UTC
    WHEN read per day in UTC, then in New York (UTC-4 in May)
    THEN they are two days in UTC and one day in New York."""
    contract = ContractFactory()
    late = datetime(2026, 5, 4, 23, 30, tzinfo=UTC)
    for at, left in ((late, 3000), (late + timedelta(hours=1), 1500)):
        api_usage_record(
            contract_id=contract.pk,
            reading=_reading(at, left=left, seconds=1200.0),
            sent=100,
            waited=False,
        )
    since = datetime(2026, 5, 1, tzinfo=UTC)

    in_utc = api_usage_per_day(contract_id=contract.pk, since=since, tz=UTC)
    assert [(d.day, d.requests_sent, d.lowest_percent_left) for d in in_utc] == [
        (date(2026, 5, 4), 100, 99),  # 3000 of 3001
        (date(2026, 5, 5), 100, 99),  # 1500 of 1501
    ]
    in_new_york = api_usage_per_day(
        contract_id=contract.pk, since=since, tz=ZoneInfo("America/New_York")
    )
    assert [(d.day, d.requests_sent) for d in in_new_york] == [(date(2026, 5, 4), 200)]
    # 1500 left of the largest limit reported that day (3001).
    assert in_new_york[0].lowest_percent_left == 49


def test_usage_per_day_is_one_query_whatever_the_hours(django_assert_num_queries):
    contract = ContractFactory()
    since = datetime(2026, 4, 1, tzinfo=UTC)
    for hours in (3, 300):
        ApiUsage.objects.filter(contract=contract).delete()
        ApiUsage.objects.bulk_create(
            ApiUsage(contract=contract, hour=since + timedelta(hours=h), requests_sent=1)
            for h in range(hours)
        )
        with django_assert_num_queries(1):
            days = api_usage_per_day(contract_id=contract.pk, since=since, tz=UTC)
        assert sum(d.requests_sent for d in days) == hours


def test_another_contracts_usage_is_not_counted():
    mine, theirs = ContractFactory(), ContractFactory()
    api_usage_record(contract_id=theirs.pk, reading=_reading(MORNING), sent=7, waited=False)
    since = MORNING - timedelta(days=1)
    assert api_usage_per_day(contract_id=mine.pk, since=since, tz=UTC) == []
