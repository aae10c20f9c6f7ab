"""The outbox state machine: every change to an ``OutboxEntry`` happens here, and with it every
write of the writeback app (its services module; the name says what it holds).

The seat holder moves entries by ticking and unticking items (and *Retry*); workers move them by
claiming due entries and recording the outcome of each delivery::

    tick:    (none) ──> queued
    worker:  queued, retrying ──claim──> sending ──ok──> sent
                                         sending ──error, may retry──> retrying (next_attempt_at)
                                         sending ──error, final──> failed
                                         sending ──CRM says wait──> retrying (attempt not counted)
    untick:  queued, retrying, sending, sent, failed ──> withdrawn  (nothing can be in the CRM)
                                                     ──> removal_requested  (something may be)
    worker:  removal_requested ──claim──> removing ──ok──> removed
                                          removing ──error──> removal_requested (later) | failed
    tick:    withdrawn, removal_requested, removing, removed, failed ──> queued
    Retry:   failed ──> queued or removal_requested, whichever the item's checkbox wants now

A sent entry written open (no CRM record matched: the unresolved-task report) is closed by
``outbox_resolve`` (a record picked in the report, which is remembered as a ``RecordMatch`` for
the member or company) or ``outbox_mark_closed`` (found closed in the CRM).

A worker holds a claimed entry (``sending``, ``removing``) until ``next_attempt_at``, its lease
(``OUTBOX_LEASE_SECONDS``, a minute by default), which the worker's ``LeaseKeeper`` renews every
third of a lease while the batch is under way; once renewals stop (the worker died) the entry is
due again within a lease, and the minute sweep takes it. Unticking an entry that is being sent
keeps the claim's token and lease, renewed with the others, so its removal cannot overtake the
send still in flight.

Drains are asked for through ``OutboxDrain``: at most one waits in the queue per contract.
"""

import contextlib
import contextvars
import logging
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from crm_settings.models import AutoPause
from crm_settings.selectors import crm_settings_get
from inbox.models import Message, Note
from network.models import Member
from seats.models import Contract, Seat
from writeback.activities import CrmRecord
from writeback.models import (
    FOLLOW_UP,
    ErrorKind,
    FollowUp,
    OutboxDrain,
    OutboxEntry,
    OutboxState,
    RecordMatch,
    activity_id_derive,
)

logger = logging.getLogger(__name__)

CLAIM_BATCH = 100
# Attempts per operation before an entry is failed and waits for the seat holder's Retry:
# 30 s, 1, 2, 4, 8, 16 and 32 minutes apart, so an outage of about an hour is ridden out.
MAX_ATTEMPTS = 8
FIRST_RETRY_DELAY = timedelta(seconds=30)
# Also the cap on a server's Retry-After, so an absurd value cannot park an item for days.
MAX_RETRY_DELAY = timedelta(hours=1)

RETRY_ONLY_FAILED = "Only failed items can be retried; this one is {state}."

# Entries already on their way to the CRM, or there: ticking changes nothing.
_TOWARDS_CRM = {OutboxState.QUEUED, OutboxState.SENDING, OutboxState.RETRYING, OutboxState.SENT}
# Entries never sent, or already leaving the CRM: unticking changes nothing.
_AWAY_FROM_CRM = {
    OutboxState.WITHDRAWN,
    OutboxState.REMOVAL_REQUESTED,
    OutboxState.REMOVING,
    OutboxState.REMOVED,
}
# What a claim takes (when due), for sending and for removing.
_SEND_DUE = [OutboxState.QUEUED, OutboxState.RETRYING, OutboxState.SENDING]
_REMOVE_DUE = [OutboxState.REMOVAL_REQUESTED, OutboxState.REMOVING]
_HELD = {OutboxState.SENDING, OutboxState.REMOVING}


def _lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def outbox_retry_delay(*, attempts: int, retry_after: float | None = None) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling, at least Retry-After."""
    backoff = FIRST_RETRY_DELAY * 2 ** max(attempts - 1, 0)
    wanted = max(backoff, timedelta(seconds=retry_after or 0))
    return min(wanted, MAX_RETRY_DELAY)


def outbox_drain_request(*, contract_id: int, now: datetime | None = None) -> bool:
    """Mark the contract's drain as waiting; True when this call did, and so must enqueue it.

    False while a drain already waits for a worker: that drain starts after this call, so it
    will see whatever the caller committed. A request older than ``Q_RETRY`` is taken to be lost
    (the broker lost the task, or enqueueing failed after the mark) and is made again.
    """
    now = now or timezone.now()
    lost = now - timedelta(seconds=settings.Q_RETRY)
    drain = OutboxDrain.objects.filter(contract_id=contract_id)
    idle = Q(requested_at__isnull=True) | Q(requested_at__lt=lost)
    if drain.filter(idle).update(requested_at=now):
        return True
    if drain.exists():
        return False
    try:
        with transaction.atomic():
            OutboxDrain.objects.create(contract_id=contract_id, requested_at=now)
    except IntegrityError:
        return False  # another request created it first: that one enqueues
    return True


def outbox_drain_started(*, contract_id: int) -> None:
    """A drain of the contract starts: items saved from now on ask for a follow-up.

    Called before the drain's first claim, so an item committed before this is claimed by it,
    and one committed after finds no drain waiting and enqueues the next.
    """
    OutboxDrain.objects.filter(contract_id=contract_id, requested_at__isnull=False).update(
        requested_at=None
    )


def _drain_enqueue_now(contract_id: int) -> None:
    from django_q.tasks import async_task

    from writeback.tasks import DRAIN_OUTBOX  # here, not at the top: writeback.tasks imports this

    if outbox_drain_request(contract_id=contract_id):
        async_task(DRAIN_OUTBOX, contract_id)


def outbox_drain_enqueue(*, contract_id: int) -> None:
    """Ask for a drain of the contract once the current transaction commits.

    At most one drain waits in the queue per contract (``outbox_drain_request``), so saving
    many items enqueues one task, not one per item.
    """
    transaction.on_commit(lambda: _drain_enqueue_now(contract_id))


# --- The seat holder's side: the item's checkbox decides ----------------------------------------


def _target(entry: OutboxEntry, *, wants: bool) -> str | None:
    """The state an entry must move to for the item's checkbox, or None to stay."""
    if wants:
        return None if entry.state in _TOWARDS_CRM else OutboxState.QUEUED
    if entry.state in _AWAY_FROM_CRM:
        return None
    return OutboxState.REMOVAL_REQUESTED if entry.maybe_in_crm else OutboxState.WITHDRAWN


def _move(entry: OutboxEntry, state: str, now: datetime) -> None:
    # An operation in flight keeps its lease as the new state's start, so the next operation on
    # the same activity (a removal after a send, a send after a removal) cannot overtake it. It
    # keeps the claim's token too, so the worker's LeaseKeeper goes on renewing that lease until
    # the operation has ended; the worker's outcome no longer applies (the state moved on).
    if entry.state not in _HELD:
        entry.next_attempt_at = now
        entry.claim_token = None
    entry.state = state
    entry.attempts = 0
    entry.last_error_kind = entry.last_error_detail = ""
    entry.last_error_at = None
    entry.save()


def _follow(item: Message | Note, now: datetime) -> bool:
    """Bring one item's entry in line with its checkbox; True when a worker now has work."""
    field = "message" if isinstance(item, Message) else "note"
    entry = OutboxEntry.objects.select_for_update().filter(**{field: item}).first()
    if entry is None:
        if not item.copy_to_crm:
            return False
        seat = item.thread.seat if field == "message" else item.seat
        OutboxEntry.objects.create(
            contract_id=seat.contract_id,
            seat=seat,
            item_type=item.item_type,
            activity_id=activity_id_derive(
                contract_id=seat.contract_id, item_type=item.item_type, item_id=item.pk
            ),
            next_attempt_at=now,
            **{field: item},
        )
        return True
    state = _target(entry, wants=item.copy_to_crm)
    if state is None:
        return False
    _move(entry, state, now)
    return state != OutboxState.WITHDRAWN


# No savepoint: the caller's transaction is the unit (the item and its entry commit together).
@transaction.atomic(savepoint=False)
def outbox_follow(*, items: Iterable[Message | Note], contract_id: int) -> None:
    """Bring the items' outbox entries in line with their copy checkboxes.

    The inbox's item services reach it through ``inbox.signals.items_written`` (connected in
    ``WritebackConfig.ready``), in the transaction that saved the items, after deciding whether
    their type may be copied at all: it creates, withdraws, re-queues or asks to remove entries,
    and starts one drain when there is something to deliver.
    """
    now = timezone.now()
    work = [_follow(item, now) for item in items]
    if any(work):
        outbox_drain_enqueue(contract_id=contract_id)


def outbox_follow_up(*, follow_up: FollowUp) -> bool:
    """Queue a follow-up task's delivery, once: True when this call created its entry.

    Call inside the transaction that created ``follow_up`` (``writeback.followups``); the
    entry's activity id is derived from it, so even a second entry could not write a second
    task, and the entry's one-to-one link refuses one anyway.
    """
    if OutboxEntry.objects.filter(follow_up=follow_up).exists():
        return False
    OutboxEntry.objects.create(
        contract_id=follow_up.contract_id,
        seat_id=follow_up.seat_id,
        item_type=FOLLOW_UP,
        follow_up=follow_up,
        activity_id=activity_id_derive(
            contract_id=follow_up.contract_id, item_type=FOLLOW_UP, item_id=follow_up.pk
        ),
        next_attempt_at=timezone.now(),
    )
    outbox_drain_enqueue(contract_id=follow_up.contract_id)
    return True


@transaction.atomic
def outbox_retry(*, entry: OutboxEntry) -> OutboxEntry:
    """*Retry* on a failed item: try again whatever the item's checkbox wants now."""
    entry = (
        OutboxEntry.objects.select_for_update(of=("self",))
        .select_related("message", "note")
        .get(pk=entry.pk)
    )
    if entry.state != OutboxState.FAILED:
        raise ValidationError(RETRY_ONLY_FAILED.format(state=entry.get_state_display().lower()))
    _move(entry, _target(entry, wants=entry.item.copy_to_crm), timezone.now())
    outbox_drain_enqueue(contract_id=entry.contract_id)
    return entry


# --- The worker's side: claim due entries, record each outcome ----------------------------------


def _due(*, contract: Contract, now: datetime, waiting_types: Collection[str]) -> Q:
    # Sending waits for the admin's selection ("items of types not selected ... are never sent")
    # and for the types' CRM table; removing what the seat holder unticked never does.
    # Follow-up tasks were asked for one by one (Data validation), in tasks, which every org has.
    types = crm_settings_get(contract=contract).writeback_types() - set(waiting_types)
    types.add(FOLLOW_UP)
    return Q(next_attempt_at__lte=now) & (
        Q(state__in=_SEND_DUE, item_type__in=types) | Q(state__in=_REMOVE_DUE)
    )


def _due_ids(*, contract: Contract, due: Q, limit: int) -> list[int]:
    entries = OutboxEntry.objects.filter(contract=contract).filter(due)
    return list(entries.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def outbox_claim_due(
    *,
    contract: Contract,
    limit: int = CLAIM_BATCH,
    now: datetime | None = None,
    waiting_types: Collection[str] = (),
) -> list[OutboxEntry]:
    """Take up to ``limit`` due entries of ``contract`` for the calling worker, oldest first.

    Items of ``waiting_types`` are not taken for sending (their CRM table is missing); they stay
    as they are until a claim without them.

    1. Read the ids of due entries.
    2. Take them in one UPDATE whose WHERE repeats the "due" condition (``UPDATE ... WHERE state
       = old``): entries another worker took in between no longer match and are skipped, so two
       claims never return the same entry. Taking moves ``sending``/``removing`` on, counts the
       attempt, stamps this claim's token and sets the lease.
    3. Return the entries with this token, with everything delivery reads selected.

    The worker then records each outcome with ``outbox_mark_sent``, ``outbox_mark_removed`` or
    ``outbox_mark_error``.
    """
    now = now or timezone.now()
    due = _due(contract=contract, now=now, waiting_types=waiting_types)
    ids = _due_ids(contract=contract, due=due, limit=limit)
    if not ids:
        return []
    token = uuid.uuid4()
    removal = Q(state__in=_REMOVE_DUE)
    OutboxEntry.objects.filter(pk__in=ids).filter(due).update(
        state=Case(
            When(removal, then=Value(OutboxState.REMOVING)), default=Value(OutboxState.SENDING)
        ),
        # A send attempt may create the activity even when we never hear back.
        maybe_in_crm=Case(When(removal, then=F("maybe_in_crm")), default=Value(True)),
        attempts=F("attempts") + 1,
        claim_token=token,
        next_attempt_at=now + _lease(),
        updated_at=now,
    )
    return list(
        OutboxEntry.objects.filter(claim_token=token)
        .select_related(
            "seat__user",
            "message__thread__member__company",
            "note__member__company",
            "note__company",
            "follow_up",
        )
        .order_by("next_attempt_at", "pk")
    )


def outbox_leases_renew(*, entries: Collection[OutboxEntry], now: datetime | None = None) -> int:
    """Extend the lease of those ``entries`` their claim still holds, by a lease from ``now``;
    returns how many. An entry with its outcome recorded has no token any more, and one another
    worker took over has that worker's token: neither is touched."""
    if not entries:
        return 0
    now = now or timezone.now()
    held = OutboxEntry.objects.filter(
        pk__in=[entry.pk for entry in entries],
        claim_token__in={entry.claim_token for entry in entries},
    )
    return held.update(next_attempt_at=now + _lease())


class LeaseKeeper:
    """Renews the leases of a drain's claims while it delivers them, from a thread of its own.

    Every third of a lease, so a batch held up by the CRM (a Retry-After, a slow ``$batch``)
    keeps its entries, while a dead worker's stop being renewed and are due again within a
    lease. Use as a context manager around the drain, and ``keep(entries)`` around each batch.

    Inside a transaction (a caller's, or a test's) the claims are invisible to every other
    connection: nobody can take them over, and renewing them from another connection would only
    wait for this one's locks, so no thread is started.
    """

    def __init__(self):
        self._entries: dict[int, OutboxEntry] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "LeaseKeeper":
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @contextlib.contextmanager
    def keep(self, entries: list[OutboxEntry]) -> Iterator[None]:
        """Renew these claimed entries' leases until the block ends."""
        with self._lock:
            self._entries.update((entry.pk, entry) for entry in entries)
        if self._thread is None and not connection.in_atomic_block:
            # Started with the first batch (a drain that finds nothing due needs none); its log
            # lines carry the drain's context (config.logs).
            context = contextvars.copy_context()
            self._thread = threading.Thread(
                target=context.run, args=(self._run,), name="outbox-leases", daemon=True
            )
            self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                for entry in entries:
                    self._entries.pop(entry.pk, None)

    def renew(self) -> int:
        """One renewal of every lease kept now; returns how many entries it extended."""
        with self._lock:
            entries = list(self._entries.values())
        return outbox_leases_renew(entries=entries)

    def _run(self) -> None:
        interval = settings.OUTBOX_LEASE_SECONDS / 3
        try:
            while not self._stop.wait(interval):
                try:
                    self.renew()
                except DatabaseError:
                    # The next renewal may get through; if none does, the entries go back to
                    # the queue after the lease and are delivered again, harmlessly (their ids).
                    logger.warning("Could not renew the outbox leases", exc_info=True)
        finally:
            connection.close()


def _held_by(entry: OutboxEntry, state: str):
    """The entry, only if still held in ``state`` by the claim that returned it."""
    return OutboxEntry.objects.filter(pk=entry.pk, state=state, claim_token=entry.claim_token)


@dataclass(frozen=True)
class SentActivity:
    """A claimed entry whose activity exists in the CRM, and what the CRM holds."""

    entry: OutboxEntry
    crm_entity_set: str
    crm_url: str
    written_open: bool
    regarding_type: str = ""
    regarding_id: uuid.UUID | None = None


# What marking an entry sent sets, and how the entry must still be held: the columns of
# _mark_sent_sql's placeholders, in order.
_SENT_COLUMNS = [
    "state",
    "sent_at",
    "claim_token",
    "last_error_kind",
    "last_error_detail",
    "last_error_at",
    "crm_entity_set",
    "crm_url",
    "written_open",
    "regarding_type",
    "regarding_id",
    "updated_at",
]
_HELD_COLUMNS = ["id", "state", "claim_token"]


def _column(name: str) -> str:
    return connection.ops.quote_name(OutboxEntry._meta.get_field(name).column)


def _mark_sent_sql() -> str:
    assignments = ", ".join(f"{_column(name)} = %s" for name in _SENT_COLUMNS)
    held = " AND ".join(f"{_column(name)} = %s" for name in _HELD_COLUMNS)
    table = connection.ops.quote_name(OutboxEntry._meta.db_table)
    return f"UPDATE {table} SET {assignments} WHERE {held}"


def _prepared(name: str, value):
    return OutboxEntry._meta.get_field(name).get_db_prep_value(value, connection)


def outbox_mark_sent_many(*, sent: list[SentActivity]) -> int:
    """Many activities exist in the CRM (created now, or found already there by their ids).

    The conditional UPDATE of ``outbox_mark_sent`` for each, sent as one statement with many
    parameter rows (psycopg pipelines them: one round trip for a whole batch, where an ORM update
    per entry costs one each). An entry no longer held by the claim that took it (unticked
    meanwhile, or taken over after the lease ran out) is left alone. Returns how many were marked.
    """
    if not sent:
        return 0
    now = timezone.now()
    rows = []
    for activity in sent:
        new = {
            "state": OutboxState.SENT.value,
            "sent_at": now,
            "claim_token": None,
            "last_error_kind": "",
            "last_error_detail": "",
            "last_error_at": None,
            "crm_entity_set": activity.crm_entity_set,
            "crm_url": activity.crm_url,
            "written_open": activity.written_open,
            "regarding_type": activity.regarding_type,
            "regarding_id": activity.regarding_id,
            "updated_at": now,
        }
        held = {
            "id": activity.entry.pk,
            "state": OutboxState.SENDING.value,
            "claim_token": activity.entry.claim_token,
        }
        rows.append(
            [_prepared(name, new[name]) for name in _SENT_COLUMNS]
            + [_prepared(name, held[name]) for name in _HELD_COLUMNS]
        )
    with connection.cursor() as cursor:
        cursor.executemany(_mark_sent_sql(), rows)
        return cursor.rowcount


def outbox_mark_sent(
    *,
    entry: OutboxEntry,
    crm_entity_set: str,
    crm_url: str,
    written_open: bool,
    regarding_type: str = "",
    regarding_id: uuid.UUID | None = None,
) -> bool:
    """The activity exists in the CRM (created now, or found already there by its id).

    Returns False when the entry is no longer this worker's (unticked meanwhile, or taken over
    after the lease ran out); the caller then leaves it alone.
    """
    activity = SentActivity(
        entry=entry,
        crm_entity_set=crm_entity_set,
        crm_url=crm_url,
        written_open=written_open,
        regarding_type=regarding_type,
        regarding_id=regarding_id,
    )
    return outbox_mark_sent_many(sent=[activity]) == 1


def outbox_mark_removed(*, entry: OutboxEntry) -> bool:
    """The activity is gone from the CRM (deleted now, or already absent). False as above."""
    now = timezone.now()
    changed = _held_by(entry, OutboxState.REMOVING).update(
        state=OutboxState.REMOVED,
        removed_at=now,
        maybe_in_crm=False,
        crm_url="",
        claim_token=None,
        last_error_kind="",
        last_error_detail="",
        last_error_at=None,
        updated_at=now,
    )
    return changed == 1


def outbox_mark_error(
    *,
    entry: OutboxEntry,
    kind: str,
    detail: str,
    retryable: bool,
    retry_after: float | None = None,
) -> bool:
    """An attempt failed: try again later if it can get better and attempts remain, else fail.

    ``kind`` is the ``dynamics`` error's kind (``ErrorKind``); ``retry_after`` the seconds the
    server asked for (429, 503). False when the entry is no longer this worker's.
    """
    kind = ErrorKind(kind)
    now = timezone.now()
    in_flight = entry.state
    if in_flight not in _HELD:
        raise ValueError(f"Only a claimed entry has an outcome; this one is {in_flight}.")
    if retryable and entry.attempts < MAX_ATTEMPTS:
        state = (
            OutboxState.RETRYING
            if in_flight == OutboxState.SENDING
            else OutboxState.REMOVAL_REQUESTED
        )
        next_attempt_at = now + outbox_retry_delay(attempts=entry.attempts, retry_after=retry_after)
    else:
        state, next_attempt_at = OutboxState.FAILED, now
        if retryable:
            detail = f"Gave up after {entry.attempts} attempts. {detail}"
    changed = _held_by(entry, in_flight).update(
        state=state,
        next_attempt_at=next_attempt_at,
        claim_token=None,
        last_error_kind=kind,
        last_error_detail=detail[:2000],
        last_error_at=now,
        updated_at=now,
    )
    return changed == 1


def outbox_mark_deferred(*, entry: OutboxEntry, until: datetime, detail: str) -> bool:
    """Dynamics asked to wait (its API limits): due again at ``until``, the attempt not counted.

    Nothing failed on the item's side, so being told to wait never uses up its attempts. False
    when the entry is no longer this worker's.
    """
    now = timezone.now()
    in_flight = entry.state
    if in_flight not in _HELD:
        raise ValueError(f"Only a claimed entry has an outcome; this one is {in_flight}.")
    sending = in_flight == OutboxState.SENDING
    changed = _held_by(entry, in_flight).update(
        state=OutboxState.RETRYING if sending else OutboxState.REMOVAL_REQUESTED,
        next_attempt_at=max(until, now),
        attempts=F("attempts") - 1,
        claim_token=None,
        last_error_kind=ErrorKind.API,
        last_error_detail=detail[:2000],
        last_error_at=now,
        updated_at=now,
    )
    return changed == 1


# --- The unresolved-task report's side: open activities closed -------------------------------


def outbox_mark_closed(*, entry: OutboxEntry, regarding: CrmRecord | None) -> bool:
    """The entry's open activity is closed in the CRM, on ``regarding`` (or on nothing): the item
    leaves the unresolved-task report. False when the entry is no longer sent."""
    changed = OutboxEntry.objects.filter(pk=entry.pk, state=OutboxState.SENT).update(
        written_open=False,
        regarding_type=regarding.type if regarding else "",
        regarding_id=regarding.id if regarding else None,
    )
    return changed == 1


@transaction.atomic
def outbox_resolve(*, entry: OutboxEntry, record: CrmRecord, by: Seat) -> None:
    """An unresolved item resolved with ``record`` in the CRM: the entry closed on it, and the
    choice remembered for the item's member or company, so their next items regard it too.

    ``entry`` needs its item's member or company selected (``entry.about``).
    """
    outbox_mark_closed(entry=entry, regarding=record)
    about = entry.about
    RecordMatch.objects.update_or_create(
        contract_id=entry.contract_id,
        **({"member": about} if isinstance(about, Member) else {"company": about}),
        defaults={
            "record_type": record.type,
            "record_id": record.id,
            "record_name": record.name[:200],
            "chosen_by": by,
        },
    )


def outbox_due_contract_ids(*, now: datetime | None = None) -> list[int]:
    """Connected contracts with entries due now (the sweep's worklist), but for those whose
    writeback paused itself after failing too often in a row (``crm_settings.pausing``)."""
    now = now or timezone.now()
    due = Q(next_attempt_at__lte=now, state__in=_SEND_DUE + _REMOVE_DUE)
    paused = AutoPause.objects.filter(
        connection__contract=OuterRef("contract_id"),
        part=AutoPause.Part.WRITEBACK,
        paused_at__isnull=False,
    )
    return list(
        OutboxEntry.objects.filter(due, contract__crm_connection__isnull=False)
        .exclude(Exists(paused))
        .order_by("contract_id")
        .values_list("contract_id", flat=True)
        .distinct()
    )
