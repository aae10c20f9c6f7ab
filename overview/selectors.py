"""The CRM Sync overview's reads: status, numbers and the last 30 days' charts of one contract.

Every figure comes from the app that owns it, through that app's selector; this module only puts
them together. The page asks Dynamics nothing and writes nothing, and its number of queries does
not grow with the contract's runs, seats, copies or hours of API use.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.conf import settings
from django.utils import timezone

from crm_settings.budget import ApiBudget, DayUsage, api_usage_per_day, connection_budget_get
from crm_settings.messages import AdminMessage
from crm_settings.models import AutoPause, CrmConnection, CrmSettings, WritebackType
from crm_settings.pausing import pause_problem, pauses_in_force
from crm_settings.selectors import crm_connection_get, crm_settings_read
from network.selectors import ImportedCounts, imported_saves_count
from overview.charts import Chart, PanelSpec, Series, chart_build
from seats.models import Contract
from sync.seat_selectors import SeatCrmCounts, seat_crm_counts
from sync.selectors import (
    MatchDay,
    RunsDay,
    SyncStatus,
    sync_match_per_day,
    sync_next_run_at,
    sync_runs_per_day,
    sync_status,
)
from writeback.selectors import CopiesDay, OutboxCounts, copies_per_day, outbox_counts

DAYS = 30


def _many(count: int, singular: str, plural: str = "") -> str:
    """``1 run``, ``2 runs``, ``1,000 copies``."""
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


@dataclass(frozen=True)
class Pause:
    """Something that holds the contract's background work back: Dynamics or the budget until a
    moment (``until``), or the auto-pause of a ``part`` (``AutoPause.Part``) after failures in a
    row, since a moment, until an admin resumes it, with the failure that paused it."""

    what: str
    until: datetime | None = None
    since: datetime | None = None
    part: str = ""
    problem: AdminMessage | None = None


@dataclass(frozen=True)
class Status:
    """The integration at a glance."""

    connection: CrmConnection | None
    crm_settings: CrmSettings
    sync: SyncStatus
    next_run_at: datetime | None
    budget: ApiBudget | None
    pauses: list[Pause]
    now: datetime

    @property
    def next_run_soon(self) -> bool:
        """Due already: the schedule's next tick (every minute) starts it."""
        return self.next_run_at is not None and self.next_run_at <= self.now + timedelta(minutes=1)

    @property
    def sync_paused(self) -> bool:
        return any(pause.part == AutoPause.Part.SYNC for pause in self.pauses)

    @property
    def writeback_labels(self) -> list[str]:
        """What is copied back, in the order CRM Settings lists it (empty when off)."""
        types = self.crm_settings.writeback_types()
        return [label for value, label in WritebackType.choices if value in types]


@dataclass(frozen=True)
class Numbers:
    seats: SeatCrmCounts
    imported: ImportedCounts
    outbox: OutboxCounts


@dataclass(frozen=True)
class Overview:
    status: Status
    numbers: Numbers
    charts: list[Chart]
    days: int = DAYS


def _pauses(*, contract: Contract, budget: ApiBudget | None) -> list[Pause]:
    """What holds scheduled imports and writeback back now: the sync or writeback paused after
    failing too often in a row (``crm_settings.pausing``, 1 query), a Retry-After from
    Dynamics, or the budget reserve (``crm_settings.budget``)."""
    if budget is None:
        return []  # not connected: nothing runs, nothing is paused
    pauses = [
        Pause(
            f"{pause.get_part_display()} paused after {_many(pause.failures, 'failure')} in a row",
            since=pause.paused_at,
            part=pause.part,
            problem=pause_problem(pause),
        )
        for pause in pauses_in_force(contract_id=contract.pk)
    ]
    if budget.retry_at is not None:
        pauses.append(Pause("Dynamics asked the portal to pause its requests", budget.retry_at))
    elif budget.waiting_until is not None:
        pauses.append(
            Pause(
                f"Less than {budget.reserve_percent}% of the API budget is left, kept for your "
                "own use of Dynamics",
                budget.waiting_until,
            )
        )
    return pauses


def overview_status(*, contract: Contract, now: datetime) -> Status:
    connection = crm_connection_get(contract=contract)
    budget = connection_budget_get(connection=connection, now=now) if connection else None
    return Status(
        connection=connection,
        crm_settings=crm_settings_read(contract=contract),
        sync=sync_status(contract=contract),
        next_run_at=sync_next_run_at(contract=contract, now=now),
        budget=budget,
        pauses=_pauses(contract=contract, budget=budget),
        now=now,
    )


def overview_numbers(*, contract: Contract) -> Numbers:
    return Numbers(
        seats=seat_crm_counts(contract=contract),
        imported=imported_saves_count(contract=contract),
        outbox=outbox_counts(contract=contract),
    )


def _days(*, now: datetime, tz: tzinfo) -> tuple[list[date], datetime]:
    """The last ``DAYS`` days in ``tz``, today included, and the moment the first one began."""
    today = timezone.localtime(now, tz).date()
    days = [today - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]
    return days, timezone.make_aware(datetime.combine(days[0], time.min), tz)


def _runs_chart(days: list[date], runs: list[RunsDay]) -> Chart:
    by_day = {row.day: row for row in runs}
    total = sum(r.runs for r in runs)
    failed = sum(r.failed for r in runs)
    changed = sum(r.rows_changed for r in runs)
    problems = sum(r.problems for r in runs)

    def run_counts(day):
        row = by_day.get(day)
        if row is None:
            return {}
        active = row.runs - row.succeeded - row.failed
        return {"succeeded": row.succeeded, "failed": row.failed, "active": active}

    def row_cells(day):
        row = by_day.get(day)
        if row is None:
            return None
        return [f"{row.runs:,}", f"{row.succeeded:,}", f"{row.failed:,}",
                f"{row.rows_changed:,}", f"{row.problems:,}"]  # fmt: skip

    return chart_build(
        slug="runs",
        title="Sync runs per day",
        description=(
            f"Over the last {DAYS} days: {_many(total, 'run')}, {failed:,} of them failed; "
            f"{_many(changed, 'CRM row')} changed and {_many(problems, 'problem')} with "
            "records."
        ),
        days=days,
        panels=[
            PanelSpec(
                "Runs",
                [
                    Series("succeeded", "Succeeded"),
                    Series("failed", "Failed"),
                    Series("active", "In progress"),
                ],
                run_counts,
            ),
            PanelSpec(
                "Rows changed",
                [Series("changed", "Rows changed")],
                lambda day: {"changed": by_day[day].rows_changed} if day in by_day else {},
                height=55,
            ),
            PanelSpec(
                "Problems",
                [Series("problems", "Problems")],
                lambda day: {"problems": by_day[day].problems} if day in by_day else {},
                height=55,
            ),
        ],
        table_columns=["Runs", "Succeeded", "Failed", "Rows changed", "Problems"],
        table_row=row_cells,
    )


def _requests_chart(days: list[date], usage: list[DayUsage]) -> Chart:
    by_day = {row.day: row for row in usage}
    reserve = settings.DYNAMICS_BUDGET_RESERVE
    total = sum(u.requests_sent for u in usage)
    waits = sum(u.waits for u in usage)
    lowest = [u.lowest_percent_left for u in usage if u.lowest_percent_left is not None]

    def row_cells(day):
        row = by_day.get(day)
        if row is None:
            return None
        left = "—" if row.lowest_percent_left is None else f"{row.lowest_percent_left}%"
        return [f"{row.requests_sent:,}", left, f"{row.waits:,}"]

    summary = f"Over the last {DAYS} days the portal sent {_many(total, 'request')} to Dynamics"
    if lowest:
        summary += f"; at its lowest, {min(lowest)}% of the 5-minute budget was left"
    summary += f"; Dynamics asked it to wait {_many(waits, 'time')}."
    return chart_build(
        slug="requests",
        title="Requests to Dynamics per day, against the API budget",
        description=summary,
        days=days,
        panels=[
            PanelSpec(
                "Requests sent",
                [Series("requests", "Requests")],
                lambda day: {"requests": by_day[day].requests_sent} if day in by_day else {},
            ),
            PanelSpec(
                "Least of the 5-minute budget left",
                [Series("budget", "Budget left")],
                lambda day: {"budget": by_day[day].lowest_percent_left} if day in by_day else {},
                kind="lines",
                height=70,
                rule=reserve,
                rule_label=f"Reserve {reserve}%",
            ),
        ],
        table_columns=["Requests", "Least budget left", "Times asked to wait"],
        table_row=row_cells,
    )


def _match_chart(days: list[date], matches: list[MatchDay]) -> Chart:
    by_day = {row.day: row for row in matches}
    latest = matches[-1] if matches else None

    def rates(day):
        row = by_day.get(day)
        if row is None:
            return {}
        return {"accounts": row.accounts_percent, "contacts": row.contacts_percent}

    def share(matched, total, percent):
        return "—" if percent is None else f"{matched:,} of {total:,} ({percent:.0f}%)"

    def row_cells(day):
        row = by_day.get(day)
        if row is None:
            return None
        return [
            share(row.accounts_matched, row.accounts_total, row.accounts_percent),
            share(row.contacts_matched, row.contacts_total, row.contacts_percent),
        ]

    if latest is None:
        summary = f"No sync succeeded in the last {DAYS} days."
    else:
        summary = (
            "After the latest sync, "
            f"{share(latest.accounts_matched, latest.accounts_total, latest.accounts_percent)} "
            "CRM accounts and "
            f"{share(latest.contacts_matched, latest.contacts_total, latest.contacts_percent)} "
            "CRM contacts matched a company or person of the network."
        )
    return chart_build(
        slug="match",
        title="Match rate of CRM accounts and contacts",
        description=summary,
        days=days,
        panels=[
            PanelSpec(
                "Matched to the network, at each day's last sync",
                [Series("accounts", "Accounts"), Series("contacts", "Contacts")],
                rates,
                kind="lines",
                height=100,
            )
        ],
        table_columns=["Accounts matched", "Contacts matched"],
        table_row=row_cells,
    )


def _copies_chart(days: list[date], copies: list[CopiesDay]) -> Chart:
    by_day = {row.day: row for row in copies}
    sent = sum(c.sent for c in copies)
    still_open = sum(c.open for c in copies)
    failed = sum(c.failed for c in copies)

    def counts(day):
        row = by_day.get(day)
        if row is None:
            return {}
        return {"sent": row.sent, "open": row.open, "failed": row.failed}

    def row_cells(day):
        row = by_day.get(day)
        if row is None:
            return None
        return [f"{row.sent:,}", f"{row.open:,}", f"{row.failed:,}"]

    return chart_build(
        slug="copies",
        title="Copies to the CRM per day",
        description=(
            f"Over the last {DAYS} days: {_many(sent, 'copy', 'copies')} closed on their CRM "
            f"record, {still_open:,} still open in the unresolved-task report and {failed:,} "
            "failed."
        ),
        days=days,
        panels=[
            PanelSpec(
                "Copies",
                [
                    Series("sent", "Sent"),
                    Series("open", "Open (unresolved)"),
                    Series("failed", "Failed"),
                ],
                counts,
            )
        ],
        table_columns=["Sent", "Open (unresolved)", "Failed"],
        table_row=row_cells,
    )


def overview_charts(*, contract: Contract, now: datetime, tz: tzinfo) -> list[Chart]:
    """The last ``DAYS`` days, cut in ``tz``: runs, requests, match rate, copies (5 queries)."""
    days, since = _days(now=now, tz=tz)
    return [
        _runs_chart(days, sync_runs_per_day(contract=contract, since=since, tz=tz)),
        _requests_chart(days, api_usage_per_day(contract_id=contract.pk, since=since, tz=tz)),
        _match_chart(days, sync_match_per_day(contract=contract, since=since, tz=tz)),
        _copies_chart(days, copies_per_day(contract=contract, since=since, tz=tz)),
    ]


def overview_get(*, contract: Contract, now: datetime | None = None) -> Overview:
    """Everything the CRM Sync overview shows, in the current time zone."""
    now = now or timezone.now()
    return Overview(
        status=overview_status(contract=contract, now=now),
        numbers=overview_numbers(contract=contract),
        charts=overview_charts(contract=contract, now=now, tz=timezone.get_current_timezone()),
    )
