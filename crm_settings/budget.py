"""The API budget of a connection: Dataverse's service protection limits, seen from the portal.

Dataverse limits each user to 6,000 requests and 20 minutes of execution time per sliding
5-minute window (and 52 requests at once), answering 429 with Retry-After past them; every
answer says what is left. The portal's clients read that (``dynamics.budget``), and
``crm_settings.crm.open_client`` stores it on the ``CrmConnection`` as it goes and when the client
closes (``connection_budget_record``). From what is stored:

- CRM Settings shows a gauge (``connection_budget_get``), without asking Dynamics;
- each reading also adds to the contract's hour of ``ApiUsage`` (``api_usage_record``), which
  the CRM Sync overview charts per day (``api_usage_per_day``);
- background work (scheduled imports, writeback drains) waits while Dynamics' Retry-After runs,
  or while less than ``DYNAMICS_BUDGET_RESERVE`` percent is left, so that the connected user's
  own use of Dynamics is never starved (``budget_wait``; the rule is in
  ``CrmConnection.budget_wait_until``);
- work stopped by a Retry-After longer than it could wait is started again after it
  (``task_enqueue_after``).
"""

import ast
import copy
import math
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Least, TruncDate
from django.utils import timezone

from crm_settings.models import BUDGET_WINDOW, ApiUsage, CrmConnection
from dynamics import BudgetReading
from seats.retention import delete_in_batches

# How often a long-running client stores what it has seen (it also does when it closes, and at
# once when Dynamics asks it to wait).
RECORD_EVERY_SECONDS = 30


def budget_reserve() -> float:
    """``DYNAMICS_BUDGET_RESERVE`` as a share (0-1)."""
    return settings.DYNAMICS_BUDGET_RESERVE / 100


# --- Writes ---------------------------------------------------------------------------------------


def connection_budget_record(
    *, connection_id: int, contract_id: int, reading: BudgetReading, sent: int
) -> None:
    """Store a client's latest reading; ``sent`` is how many requests it made since it last did.

    Two clients of one connection (an import and a drain) may store at the same moment: the
    limits only grow, the request count only adds up, and a Retry-After is only ever extended.
    The contract's hour of ``ApiUsage`` takes the same reading (``api_usage_record``).
    """
    fields: dict = {"budget_requests_sent": F("budget_requests_sent") + sent}
    if reading.observed_at is not None:
        fields["budget_observed_at"] = reading.observed_at
        if reading.requests_remaining is not None:
            fields["budget_requests_remaining"] = reading.requests_remaining
            # The answer counts its own request: 5,999 left of 6,000.
            fields["budget_requests_limit"] = Greatest(
                Coalesce("budget_requests_limit", Value(0)), Value(reading.requests_remaining + 1)
            )
        if reading.seconds_remaining is not None:
            fields["budget_seconds_remaining"] = reading.seconds_remaining
            fields["budget_seconds_limit"] = Greatest(
                Coalesce("budget_seconds_limit", Value(0.0)), Value(reading.seconds_remaining)
            )
    connections = CrmConnection.objects.filter(pk=connection_id)
    connections.update(**fields)
    waited = bool(
        reading.waiting
        and connections.filter(
            Q(budget_retry_at__isnull=True) | Q(budget_retry_at__lt=reading.retry_at)
        ).update(budget_retry_at=reading.retry_at)
    )
    api_usage_record(contract_id=contract_id, reading=reading, sent=sent, waited=waited)


def api_usage_record(*, contract_id: int, reading: BudgetReading, sent: int, waited: bool) -> None:
    """Add one reading to the contract's ``ApiUsage`` of the hour it was taken in.

    ``waited``: the reading carried a Retry-After longer than the one stored, so it counts as
    one more time Dynamics asked the portal to wait. Like the connection's fields, every value
    only adds up (requests, waits), falls (what was left) or grows (the limits), in one UPDATE,
    so two clients recording at once lose nothing; the hour's first reading creates the row.
    """
    hour = reading.taken_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    fields: dict = {"requests_sent": F("requests_sent") + sent}
    first: dict = {"requests_sent": sent}
    if waited:
        fields["waits"], first["waits"] = F("waits") + 1, 1
    if reading.observed_at is not None:
        if reading.requests_remaining is not None:
            left, limit = reading.requests_remaining, reading.requests_remaining + 1
            fields["lowest_requests_remaining"] = Least(
                Coalesce("lowest_requests_remaining", Value(left)), Value(left)
            )
            fields["requests_limit"] = Greatest(Coalesce("requests_limit", Value(0)), Value(limit))
            first["lowest_requests_remaining"], first["requests_limit"] = left, limit
        if reading.seconds_remaining is not None:
            seconds = reading.seconds_remaining
            fields["lowest_seconds_remaining"] = Least(
                Coalesce("lowest_seconds_remaining", Value(seconds)), Value(seconds)
            )
            fields["seconds_limit"] = Greatest(
                Coalesce("seconds_limit", Value(0.0)), Value(seconds)
            )
            first["lowest_seconds_remaining"], first["seconds_limit"] = seconds, seconds
    if len(fields) == 1 and not sent:
        return  # nothing to add
    rows = ApiUsage.objects.filter(contract_id=contract_id, hour=hour)
    if rows.update(**fields):
        return
    try:
        with transaction.atomic():
            ApiUsage.objects.create(contract_id=contract_id, hour=hour, **first)
    except IntegrityError:
        # Another client created the hour's row first: add to it.
        rows.update(**fields)


class BudgetRecorder:
    """Stores one client's readings for its connection (the client's budget listener).

    The client calls it from whichever thread got an answer, but it writes only in the thread
    that opened the client: an import fetches its pages in helper threads while the opening
    thread holds a page's transaction, and a write from a helper would wait on that (SQLite
    locks the whole file) and leave a database connection behind in a thread that ends. A
    reading skipped there is stored by the next call in the opening thread, at the latest when
    the client closes (readings are cumulative).
    """

    def __init__(self, connection_id: int, *, contract_id: int):
        self.connection_id = connection_id
        self.contract_id = contract_id
        self._owner = threading.get_ident()
        self._stored = (0, None, None)  # requests sent, observed_at, retry_at

    def __call__(self, reading: BudgetReading) -> None:
        if threading.get_ident() != self._owner:
            return
        stored_sent, observed_at, retry_at = self._stored
        if (reading.requests_sent, reading.observed_at) == (stored_sent, observed_at) and (
            not reading.waiting or reading.retry_at == retry_at
        ):
            return  # nothing new (a client that sent nothing writes nothing)
        self._stored = (reading.requests_sent, reading.observed_at, reading.retry_at)
        connection_budget_record(
            connection_id=self.connection_id,
            contract_id=self.contract_id,
            reading=reading,
            sent=max(reading.requests_sent - stored_sent, 0),
        )


def task_enqueue_after(*, name: str, func: str, args: tuple, at: datetime) -> None:
    """Run the task ``func(*args)`` once, at ``at`` (a django-q2 ONCE schedule named ``name``).

    A later call with the same name moves the run, so repeated refusals leave one run waiting.
    The scheduler deletes the schedule once it has started the task.
    """
    from django_q.models import Schedule

    # The scheduler reads the arguments back with ast.literal_eval: plain values only (a
    # TextChoices member's repr is not a literal, its str is its value).
    plain = tuple(str(arg) if isinstance(arg, str) else arg for arg in args)
    text = repr(plain)
    if ast.literal_eval(text) != plain:
        raise ValueError(f"task arguments must be plain literals, not {args!r}")
    Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": func,
            "args": text,
            "schedule_type": Schedule.ONCE,
            "repeats": -1,
            "next_run": at,
        },
    )


def api_usage_prune(*, before: datetime, batch_size: int) -> int:
    """Delete the hours of ``ApiUsage`` that began before ``before``; returns how many."""
    return delete_in_batches(ApiUsage.objects.filter(hour__lt=before), batch_size=batch_size)


# --- Reads ----------------------------------------------------------------------------------------


def budget_wait(
    *, connection: CrmConnection, now: datetime | None = None, reserve: bool = True
) -> datetime | None:
    """When background work may use ``connection`` again (None: now), from what is stored.

    ``reserve=False`` honours only Dynamics' Retry-After (work a person asked for).
    """
    now = now or timezone.now()
    return connection.budget_wait_until(now=now, reserve=budget_reserve() if reserve else 0.0)


def budget_wait_live(
    *, connection: CrmConnection, reading: BudgetReading, reserve: bool = True
) -> datetime | None:
    """Like ``budget_wait``, with a running client's latest reading over what is stored.

    For work that checks between steps (a drain between claims): the client's own answers are
    newer than what it stored last.
    """
    live = copy.copy(connection)
    if reading.observed_at is not None:
        live.budget_observed_at = reading.observed_at
        if reading.requests_remaining is not None:
            live.budget_requests_remaining = reading.requests_remaining
            live.budget_requests_limit = max(
                connection.budget_requests_limit or 0, reading.requests_remaining + 1
            )
        if reading.seconds_remaining is not None:
            live.budget_seconds_remaining = reading.seconds_remaining
            live.budget_seconds_limit = max(
                connection.budget_seconds_limit or 0, reading.seconds_remaining
            )
    stored_retry_at = live.budget_retry_at
    if reading.waiting and (stored_retry_at is None or reading.retry_at > stored_retry_at):
        live.budget_retry_at = reading.retry_at
    return budget_wait(connection=live, now=reading.taken_at, reserve=reserve)


@dataclass(frozen=True)
class Gauge:
    """One measure of the budget: what is left of its limit."""

    label: str
    remaining: float
    limit: float
    unit: str

    @property
    def percent(self) -> int:
        return math.floor(100 * self.remaining / self.limit) if self.limit else 0


@dataclass(frozen=True)
class ApiBudget:
    """What CRM Settings shows about the connection's API budget (from the database only)."""

    gauges: list[Gauge]
    observed_at: datetime | None
    # The report is older than Dataverse's window: what it counted has left the window since.
    stale: bool
    retry_at: datetime | None
    requests_sent: int
    reserve_percent: int
    waiting_until: datetime | None

    @property
    def measured(self) -> bool:
        return bool(self.gauges)

    @property
    def low(self) -> bool:
        """Less than the reserve is left, as of a report still inside the window."""
        return not self.stale and any(g.percent < self.reserve_percent for g in self.gauges)


def connection_budget_get(*, connection: CrmConnection, now: datetime | None = None) -> ApiBudget:
    """The gauge's facts for CRM Settings (no query beyond the connection already loaded)."""
    now = now or timezone.now()
    gauges = []
    if connection.budget_requests_remaining is not None and connection.budget_requests_limit:
        gauges.append(
            Gauge(
                "Requests",
                connection.budget_requests_remaining,
                connection.budget_requests_limit,
                "requests",
            )
        )
    if connection.budget_seconds_remaining is not None and connection.budget_seconds_limit:
        gauges.append(
            Gauge(
                "Execution time",
                connection.budget_seconds_remaining,
                connection.budget_seconds_limit,
                "seconds",
            )
        )
    observed = connection.budget_observed_at
    retry_at = connection.budget_retry_at
    return ApiBudget(
        gauges=gauges,
        observed_at=observed,
        stale=observed is not None and now - observed >= BUDGET_WINDOW,
        retry_at=retry_at if retry_at is not None and retry_at > now else None,
        requests_sent=connection.budget_requests_sent,
        reserve_percent=settings.DYNAMICS_BUDGET_RESERVE,
        waiting_until=budget_wait(connection=connection, now=now),
    )


@dataclass(frozen=True)
class DayUsage:
    """One day of ``ApiUsage``: requests sent, the least of the 5-minute budget left, waits."""

    day: date
    requests_sent: int
    waits: int
    # The smaller of requests and execution time left, as a share (0-1) of its limit, at the
    # day's lowest; None when Dynamics reported neither that day.
    lowest_share_left: float | None

    @property
    def lowest_percent_left(self) -> int | None:
        if self.lowest_share_left is None:
            return None
        return math.floor(100 * self.lowest_share_left)


def api_usage_per_day(*, contract_id: int, since: datetime, tz: tzinfo) -> list[DayUsage]:
    """The contract's API usage from ``since`` on, one entry per day (in ``tz``) that has any,
    oldest first. One query whatever the number of hours."""
    rows = (
        ApiUsage.objects.filter(contract_id=contract_id, hour__gte=since)
        .annotate(day=TruncDate("hour", tzinfo=tz))
        .values("day")
        .annotate(
            requests=Sum("requests_sent"),
            waited=Sum("waits"),
            lowest_requests=Min("lowest_requests_remaining"),
            requests_limit=Max("requests_limit"),
            lowest_seconds=Min("lowest_seconds_remaining"),
            seconds_limit=Max("seconds_limit"),
        )
        .order_by("day")
    )
    days = []
    for row in rows:
        shares = [
            left / limit
            for left, limit in (
                (row["lowest_requests"], row["requests_limit"]),
                (row["lowest_seconds"], row["seconds_limit"]),
            )
            if left is not None and limit
        ]
        days.append(
            DayUsage(
                day=row["day"],
                requests_sent=row["requests"] or 0,
                waits=row["waited"] or 0,
                lowest_share_left=min(shares) if shares else None,
            )
        )
    return days
