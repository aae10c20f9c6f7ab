"""What the import tells the CRM Sync overview: the mirror's match rate recorded by each
succeeded run, runs per day with rows changed and problems, the match rate per day, the next
scheduled run and the seats by CRM state; each in a fixed number of queries."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from crm_settings.models import AutoPause
from seats.models import CrmSync
from sync.models import CrmAccount, CrmContact, SeatCrmUser, SyncProblem, SyncRun
from sync.seat_selectors import seat_crm_counts
from sync.selectors import (
    contracts_due_for_sync,
    sync_match_per_day,
    sync_next_run_at,
    sync_runs_per_day,
)
from tests.factories import (
    ContractFactory,
    CrmConnectionFactory,
    CrmSettingsFactory,
    CrmUserFactory,
    SeatFactory,
    SyncRunFactory,
)

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 5, 1, tzinfo=UTC)


def _run(contract, at: datetime, *, state="succeeded", counts=None, problems=0, **fields):
    run = SyncRunFactory(contract=contract, state=state, counts=counts or {}, **fields)
    SyncRun.objects.filter(pk=run.pk).update(
        created_at=at, started_at=at, finished_at=at + timedelta(minutes=1)
    )
    SyncProblem.objects.bulk_create(
        SyncProblem(run=run, table="contact", reason="bad email") for _ in range(problems)
    )
    return run


@pytest.mark.emulator
def test_a_succeeded_run_records_how_much_of_the_mirror_matched(connected, run_sync):
    run = run_sync(connected)
    accounts = CrmAccount.objects.filter(contract=connected)
    contacts = CrmContact.objects.filter(contract=connected)
    assert run.accounts_total == accounts.count() > 0
    assert run.accounts_matched == accounts.filter(company__isnull=False).count() > 0
    assert run.contacts_total == contacts.count() > 0
    assert run.contacts_matched == contacts.filter(member__isnull=False).count() > 0
    assert run.contacts_matched < run.contacts_total


@pytest.mark.emulator
def test_a_failed_run_records_no_match_rate(connected, crm, run_sync):
    crm.set_faults(deny={"integration@contoso-demo.com": ["opportunity"]})
    run = run_sync(connected)
    assert run.state == SyncRun.State.FAILED
    assert run.accounts_total is None and run.contacts_total is None


def test_runs_per_day_count_states_rows_changed_and_problems():
    contract = ContractFactory()
    day1 = datetime(2026, 5, 3, 8, tzinfo=UTC)
    _run(contract, day1, counts={
        "account": {"read": 10, "created": 4, "updated": 1, "removed": 0, "how": "full read"},
        "contact": {"read": 30, "created": 20, "removed": 2},
        "saves": {"accounts_added": 99},  # saves are not mirror rows
    }, problems=3)  # fmt: skip
    _run(contract, day1 + timedelta(hours=5), state="failed", counts={"systemuser": {"updated": 1}})
    _run(contract, day1 + timedelta(days=2), counts={})
    _run(ContractFactory(), day1, counts={"account": {"created": 1000}}, problems=9)
    _run(contract, SINCE - timedelta(days=1), counts={"account": {"created": 500}})

    days = sync_runs_per_day(contract=contract, since=SINCE, tz=UTC)

    assert [(d.day, d.runs, d.succeeded, d.failed, d.rows_changed, d.problems) for d in days] == [
        (date(2026, 5, 3), 2, 1, 1, 28, 3),
        (date(2026, 5, 5), 1, 1, 0, 0, 0),
    ]


def test_a_run_counts_on_its_day_in_the_time_zone_asked_for():
    contract = ContractFactory()
    _run(contract, datetime(2026, 5, 4, 2, tzinfo=UTC), problems=1)  # 22:00 on the 3rd in NY
    days = sync_runs_per_day(contract=contract, since=SINCE, tz=ZoneInfo("America/New_York"))
    assert [(d.day, d.runs, d.problems) for d in days] == [(date(2026, 5, 3), 1, 1)]


@pytest.mark.parametrize("size", [2, 40])
def test_runs_per_day_is_two_queries_whatever_the_runs(size, django_assert_num_queries):
    contract = ContractFactory()
    for n in range(size):
        _run(
            contract, SINCE + timedelta(hours=7 * n), counts={"contact": {"created": 1}}, problems=2
        )
    with django_assert_num_queries(2):
        days = sync_runs_per_day(contract=contract, since=SINCE, tz=UTC)
    assert sum(d.runs for d in days) == size
    assert sum(d.problems for d in days) == 2 * size


def test_the_match_rate_of_a_day_is_its_last_succeeded_runs():
    contract = ContractFactory()
    morning = datetime(2026, 5, 3, 8, tzinfo=UTC)
    snapshot = {"accounts_total": 10, "contacts_total": 40}
    _run(contract, morning, accounts_matched=5, contacts_matched=10, **snapshot)
    _run(
        contract, morning + timedelta(hours=4), accounts_matched=6, contacts_matched=30, **snapshot
    )
    _run(contract, morning + timedelta(hours=6), state="failed")
    _run(contract, morning + timedelta(days=1), accounts_matched=7, contacts_matched=0, **snapshot)
    _run(contract, morning + timedelta(days=2))  # recorded before the match rate was

    days = sync_match_per_day(contract=contract, since=SINCE, tz=UTC)

    assert [(d.day, d.accounts_percent, d.contacts_percent) for d in days] == [
        (date(2026, 5, 3), 60.0, 75.0),
        (date(2026, 5, 4), 70.0, 0.0),
    ]


def test_an_empty_mirror_has_no_match_rate():
    contract = ContractFactory()
    _run(contract, datetime(2026, 5, 3, tzinfo=UTC), accounts_total=0, accounts_matched=0,
         contacts_total=0, contacts_matched=0)  # fmt: skip
    (day,) = sync_match_per_day(contract=contract, since=SINCE, tz=UTC)
    assert day.accounts_percent is None and day.contacts_percent is None


@pytest.mark.parametrize("size", [2, 40])
def test_the_match_rate_per_day_is_one_query(size, django_assert_num_queries):
    contract = ContractFactory()
    for n in range(size):
        _run(contract, SINCE + timedelta(hours=5 * n), accounts_total=4, accounts_matched=n % 4,
             contacts_total=1, contacts_matched=1)  # fmt: skip
    with django_assert_num_queries(1):
        days = sync_match_per_day(contract=contract, since=SINCE, tz=UTC)
    assert len(days) == len({(SINCE + timedelta(hours=5 * n)).date() for n in range(size)})


def test_the_next_run_is_an_interval_after_the_last_one_was_asked_for():
    contract = ContractFactory()
    CrmConnectionFactory(contract=contract)
    CrmSettingsFactory(contract=contract, sync_interval_minutes=30)
    last = datetime(2026, 5, 3, 8, tzinfo=UTC)
    _run(contract, last)
    with time_machine.travel(last + timedelta(minutes=10), tick=False):
        assert sync_next_run_at(contract=contract) == last + timedelta(minutes=30)
        assert contract.pk not in contracts_due_for_sync()
    with time_machine.travel(last + timedelta(minutes=45), tick=False):
        # Overdue: the next minute's tick starts it, as the schedule decides.
        assert sync_next_run_at(contract=contract) == last + timedelta(minutes=45)
        assert contract.pk in contracts_due_for_sync()


def test_a_paused_sync_has_no_next_run():
    contract = ContractFactory()
    connection = CrmConnectionFactory(contract=contract)
    AutoPause.objects.create(
        connection=connection, part=AutoPause.Part.SYNC, failures=5, paused_at=timezone.now()
    )
    assert sync_next_run_at(contract=contract) is None
    assert contract.pk not in contracts_due_for_sync()


def test_a_connection_without_runs_is_due_now_and_none_when_not_connected():
    contract = ContractFactory()
    assert sync_next_run_at(contract=contract) is None
    CrmConnectionFactory(contract=contract)
    now = datetime(2026, 5, 3, 8, tzinfo=UTC)
    assert sync_next_run_at(contract=contract, now=now) == now


def test_seats_are_counted_as_seat_managements_filters_list_them(django_assert_num_queries):
    contract = ContractFactory()
    CrmConnectionFactory(contract=contract)
    in_crm = SeatFactory(contract=contract)
    SeatCrmUser.objects.create(seat=in_crm, crm_user=CrmUserFactory(contract=contract))
    off = SeatFactory(contract=contract, crm_sync=CrmSync.OFF)
    SeatCrmUser.objects.create(seat=off, crm_user=CrmUserFactory(contract=contract))
    never_checked = SeatFactory(contract=contract)
    SeatCrmUser.objects.create(seat=SeatFactory(contract=contract), reason="No CRM user")
    SeatFactory(contract=contract, admin_only=True)  # neither matched nor not, nor synced
    SeatFactory(contract=ContractFactory())
    assert never_checked.pk

    with django_assert_num_queries(1):
        counts = seat_crm_counts(contract=contract)

    assert (counts.in_crm, counts.not_matched, counts.sync_off) == (1, 2, 1)
