"""Delivering claimed outbox entries to Dynamics in ``$batch`` requests, each activity once.

Exactly once: an item's activity is created with the id ``entry.activity_id`` (derived from the
item) through a create-only upsert, so a resent batch, a retry, or a second worker after a crash
can at worst find the activity already there (412). Such an activity is read back and recorded as
the CRM holds it, closed first where it should be (step 5); it is never created twice.

``deliver`` takes the entries one claim took (``outbox_claim_due``) and records one outcome per
entry (``outbox_mark_sent_many``, ``outbox_mark_removed`` or ``outbox_mark_error``):

1. Find each seat's writer (``writeback.owners``): the owner, and the caller when impersonating.
   Items of a seat without a CRM user wait (never checked yet) or fail (*Not Matched*).
2. Match the items to send (``writeback.matching``): at most one lookup ``$batch``.
3. Send one ``$batch`` with continue-on-error per caller: per seat when impersonating (the
   caller is a header of the whole request), else one for the whole claim. Per entry: a create
   regarding the record plus its closing, in one change set, when matched; a lone create (open,
   regarding nothing) when not; a delete when the entry is being removed.
4. Record each entry's outcome on its own: one failing entry never fails the others. A batch's
   outcomes are written in one database transaction, the sent ones in one UPDATE, and no
   request to the CRM is ever made inside a transaction.
5. Read back the activities that already existed (one ``$batch`` of GETs), re-point and close
   those still open that should be closed (one more), and record what the CRM holds.

Errors: the client already retried 429, 5xx and lost connections, honouring Retry-After, within
its budget; a Retry-After longer than it could wait (``Throttled``) puts the entries back for
after it, without using an attempt, and stops the run. What still fails is retried later by the
outbox with a growing delay (``outbox_retry_delay``) up to ``MAX_ATTEMPTS``, then failed with
the reason, next step and *Retry*.
Privilege and validation errors fail at once. A whole request that still failed means the CRM is
out of reach for now: the run stops taking claims, and the sweep starts another within a minute.
Three cases get more (``DeliveryRun``):

- the sign-in expired or was revoked: the items wait and retry, and CRM Settings shows the error
  until an admin connects again;
- a LinkedIn table is gone (the solution was uninstalled): the connection's flag is refreshed, so
  CRM Settings shows *Get it now* and InMails and messages wait, unclaimed, until it is back
  (notes, in tasks, carry on);
- impersonation is refused (the privilege was taken away since connecting): the connection
  becomes owner-only, as CRM Settings then says, and the batch is sent again without it.
"""

import contextlib
import logging
from dataclasses import dataclass, field

from django.db import transaction

from config.logs import log_context
from crm_settings.connect import (
    connection_record_error,
    connection_refresh_solution,
    connection_stop_impersonating,
)
from crm_settings.models import CrmConnection
from dynamics import (
    AuthError,
    ChangeSet,
    DuplicateRecord,
    DynamicsClient,
    DynamicsError,
    MissingObjectError,
    NotFound,
    Operation,
    OperationResult,
    Throttled,
)
from dynamics.errors import CANNOT_ACT_ON_BEHALF
from writeback.activities import (
    LINKEDIN_TYPES,
    TABLES,
    ActivityTable,
    CrmRecord,
    activity_create,
    activity_read,
    activity_repoint_and_close,
    activity_state,
    activity_table_get,
    first_error,
    follow_up_record,
)
from writeback.matching import LiveLookup, matches_find
from writeback.models import ErrorKind, OutboxEntry, OutboxState
from writeback.outbox import (
    SentActivity,
    outbox_mark_deferred,
    outbox_mark_error,
    outbox_mark_removed,
    outbox_mark_sent_many,
)
from writeback.owners import Unmapped, Writer, seat_writers_get

logger = logging.getLogger(__name__)

_LINKEDIN_SETS = {TABLES[item_type].entity_set for item_type in LINKEDIN_TYPES}


@dataclass
class DeliveryRun:
    """One drain run's work with the CRM: the connection, one client, and its live lookups."""

    connection: CrmConnection
    client: DynamicsClient
    lookup: LiveLookup = field(init=False)
    # Set when the CRM is out of reach or the sign-in stopped working: no more claims this run.
    halted: bool = False
    # The error that halted the run (the drain counts it towards writeback's auto-pause).
    halt_error: DynamicsError | None = None
    _linkedin_table_missing: bool = False
    _solution_checked: bool = False

    def __post_init__(self):
        self.lookup = LiveLookup(self.client)

    @property
    def waiting_types(self) -> frozenset[str]:
        """Item types not to claim for sending now: their table is missing from the CRM."""
        return frozenset() if self.connection.linkedin_solution_installed else LINKEDIN_TYPES

    def fail(self, entry: OutboxEntry, error: DynamicsError) -> None:
        """Record a failed attempt of ``entry``, and what ``error`` says about the connection."""
        if isinstance(error, Throttled) and error.retry_at is not None:
            # Told to wait longer than the client could: after it, without using an attempt.
            outbox_mark_deferred(entry=entry, until=error.retry_at, detail=str(error))
            return
        kind, retryable = _classify(error)
        with log_context(item_id=entry.pk):
            logger.info(
                "Outbox entry %s: attempt %s failed (%s): %s", entry.pk, entry.attempts, kind, error
            )
        outbox_mark_error(
            entry=entry,
            kind=kind,
            detail=str(error),
            retryable=retryable,
            retry_after=error.retry_after,
        )
        if isinstance(error, MissingObjectError) and error.table in _LINKEDIN_SETS:
            self._linkedin_table_missing = True

    def halt(self, error: DynamicsError) -> None:
        """Take no more claims: what is due waits for the sweep's next run, a minute away."""
        if self.halted:
            return
        logger.warning("Writeback for contract %s paused: %s", self.contract_id, error)
        self.halted = True
        self.halt_error = error
        if isinstance(error, AuthError):
            connection_record_error(connection=self.connection, error=error)

    def stop_impersonating(self) -> None:
        """The connecting user may no longer act for others: write owner-only from now on."""
        logger.warning("Contract %s: impersonation refused, writing owner-only.", self.contract_id)
        connection_stop_impersonating(connection=self.connection)

    @property
    def contract_id(self) -> int:
        return self.connection.contract_id

    def check_solution(self) -> None:
        """After a LinkedIn table went missing, ask the CRM whether the solution is still there."""
        # Once per run: the first missing LinkedIn table says enough about the others.
        if not self._linkedin_table_missing or self._solution_checked:
            return
        self._solution_checked = True
        # If even this check fails, the items retry anyway; nothing else depends on it.
        with contextlib.suppress(DynamicsError):
            connection_refresh_solution(connection=self.connection, client=self.client)


def _classify(error: DynamicsError) -> tuple[str, bool]:
    """The failure's kind (``ErrorKind``) and whether trying again later may help."""
    if isinstance(error, AuthError):
        # An admin connecting again fixes it, with nothing for the seat holder to do.
        return ErrorKind.AUTH, True
    if isinstance(error, NotFound | MissingObjectError):
        # A record the activity refers to is gone (the next sync updates the matches), or a
        # LinkedIn table is (the items wait for the solution).
        return ErrorKind.MISSING, True
    return error.kind, error.retryable


@dataclass
class _Plan:
    """What one entry sends: its table, the record it regards (if any), as whom, and how."""

    entry: OutboxEntry
    table: ActivityTable
    record: CrmRecord | None
    caller: str | None
    request: Operation | ChangeSet

    @property
    def size(self) -> int:
        """How many operations (and so results) the request has."""
        return len(self.request.operations) if isinstance(self.request, ChangeSet) else 1


def deliver(*, run: DeliveryRun, entries: list[OutboxEntry]) -> None:
    """Create or delete the CRM activities of ``entries``; one recorded outcome per entry.

    ``entries`` come from ``outbox_claim_due``: ``sending`` ones are created, ``removing`` ones
    deleted. The steps are in the module docstring.
    """
    writers = seat_writers_get(connection=run.connection, seat_ids={e.seat_id for e in entries})
    plans, sending = [], []
    with transaction.atomic():
        for entry in entries:
            writer = writers[entry.seat_id]
            if entry.state == OutboxState.REMOVING:
                plans.append(_removal_plan(entry, writer))
            elif isinstance(writer, Unmapped):
                outbox_mark_error(
                    entry=entry,
                    kind=ErrorKind.UNMAPPED,
                    detail=writer.reason,
                    retryable=writer.may_wait,
                )
            else:
                sending.append((entry, writer))
    plans += _sending_plans(run, sending)
    by_caller: dict[str | None, list[_Plan]] = {}
    for plan in plans:
        caller = plan.caller if run.connection.can_impersonate else None
        by_caller.setdefault(caller, []).append(plan)
    for caller, group in by_caller.items():
        _send(run, group, caller)
    run.check_solution()


def _removal_plan(entry: OutboxEntry, writer: Writer | Unmapped) -> _Plan:
    table = activity_table_get(entry=entry)
    caller = writer.caller_object_id if isinstance(writer, Writer) else None
    request = Operation.delete(table.entity_set, str(entry.activity_id))
    return _Plan(entry=entry, table=table, record=None, caller=caller, request=request)


def _sending_plans(run: DeliveryRun, sending: list[tuple[OutboxEntry, Writer]]) -> list[_Plan]:
    if not sending:
        return []
    # A follow-up task regards the contact it was asked for; the items are matched.
    items = [entry for entry, _ in sending if not entry.follow_up_id]
    try:
        records = matches_find(contract_id=run.contract_id, entries=items, lookup=run.lookup)
    except DynamicsError as error:
        # Without the lookups nothing can be told apart: closed or open would be a guess.
        _fail_all(run, items, error)
        sending = [(entry, writer) for entry, writer in sending if entry.follow_up_id]
        records = {}
    records |= {entry.pk: follow_up_record(entry) for entry, _ in sending if entry.follow_up_id}
    return [
        _Plan(
            entry=entry,
            table=activity_table_get(entry=entry),
            record=records[entry.pk],
            caller=writer.caller_object_id,
            request=activity_create(
                entry=entry, owner_id=writer.owner_id, record=records[entry.pk]
            ),
        )
        for entry, writer in sending
    ]


def _per_plan(results: list[OperationResult], plans: list[_Plan]) -> list[list[OperationResult]]:
    """The batch's flat results, cut into each plan's share."""
    shares, start = [], 0
    for plan in plans:
        shares.append(results[start : start + plan.size])
        start += plan.size
    return shares


def _fail_all(run: DeliveryRun, entries: list[OutboxEntry], error: DynamicsError) -> None:
    """A request that failed as a whole: each of its entries records the same failure.

    Still failing after the client's own retries, or without a working sign-in, the CRM is out
    of reach for now: the run stops rather than spend the same wait on every claim.
    """
    with transaction.atomic():
        for entry in entries:
            run.fail(entry, error)
    if error.retryable or isinstance(error, AuthError):
        run.halt(error)


def _send(run: DeliveryRun, plans: list[_Plan], caller: str | None) -> None:
    """Steps 3 and 4 for the plans of one caller, then step 5 for what already existed."""
    try:
        results = run.client.batch([plan.request for plan in plans], caller_object_id=caller)
    except DynamicsError as error:
        if caller and error.code == CANNOT_ACT_ON_BEHALF:
            run.stop_impersonating()
            _send(run, plans, None)
        else:
            _fail_all(run, [plan.entry for plan in plans], error)
        return
    existing, sent = [], []
    with transaction.atomic():
        for plan, outcome in zip(plans, _per_plan(results, plans), strict=True):
            error = first_error(outcome)
            if plan.entry.state == OutboxState.REMOVING:
                # Absent counts as removed, and so does a table gone with the solution's data.
                if error is None or isinstance(error, NotFound | MissingObjectError):
                    outbox_mark_removed(entry=plan.entry)
                else:
                    run.fail(plan.entry, error)
            elif outcome[0].already_existed or isinstance(outcome[0].error, DuplicateRecord):
                existing.append(plan)
            elif error is not None:
                run.fail(plan.entry, error)
            else:
                sent.append(
                    _sent(run, plan, written_open=plan.record is None, regarding=plan.record)
                )
        outbox_mark_sent_many(sent=sent)
    if existing:
        _reconcile(run, existing, caller)


def _reconcile(run: DeliveryRun, plans: list[_Plan], caller: str | None) -> None:
    """Step 5: activities an earlier attempt created (its answer lost, or its worker dead)."""
    reads = [activity_read(table=p.table, activity_id=p.entry.activity_id) for p in plans]
    try:
        results = run.client.batch(reads)
    except DynamicsError as error:
        _fail_all(run, [plan.entry for plan in plans], error)
        return
    to_close, sent = [], []
    with transaction.atomic():
        for plan, result in zip(plans, results, strict=True):
            if not result.ok:
                run.fail(plan.entry, result.error)
                continue
            state = activity_state(result.body)
            if plan.entry.follow_up_id:
                # Open on purpose, on its contact: never closed, never in the unresolved report.
                sent.append(_sent(run, plan, written_open=False, regarding=plan.record))
            elif state.open and plan.record is not None:
                to_close.append(plan)
            else:
                sent.append(_sent(run, plan, written_open=state.open, regarding=state.regarding))
        outbox_mark_sent_many(sent=sent)
    if to_close:
        _close(run, to_close, caller)


def _close(run: DeliveryRun, plans: list[_Plan], caller: str | None) -> None:
    """Re-point open activities to their plan's record and close them, one change set each."""
    requests = [
        ChangeSet(
            activity_repoint_and_close(
                table=p.table, activity_id=p.entry.activity_id, record=p.record
            )
        )
        for p in plans
    ]
    try:
        results = run.client.batch(requests, caller_object_id=caller)
    except DynamicsError as error:
        _fail_all(run, [plan.entry for plan in plans], error)
        return
    sent = []
    with transaction.atomic():
        for plan, start in zip(plans, range(0, len(results), 2), strict=True):
            error = first_error(results[start : start + 2])
            if error is not None:
                run.fail(plan.entry, error)
            else:
                sent.append(_sent(run, plan, written_open=False, regarding=plan.record))
        outbox_mark_sent_many(sent=sent)


def _sent(
    run: DeliveryRun, plan: _Plan, *, written_open: bool, regarding: CrmRecord | None
) -> SentActivity:
    return SentActivity(
        entry=plan.entry,
        crm_entity_set=plan.table.entity_set,
        crm_url=run.connection.record_url(plan.table.logical_name, plan.entry.activity_id),
        written_open=written_open,
        regarding_type=regarding.type if regarding else "",
        regarding_id=regarding.id if regarding else None,
    )
