"""A sync run's life: request (or merge), claim, checkpoints, finish, takeover after a crash.

One contract has at most one *active* run (queued or running). The database enforces it: the
partial unique index ``one_active_sync_per_contract`` makes a second insert fail, and the request
that loses is merged into the run that exists, so two triggers at the same moment start one sync.

Runs (and their problems) finished long ago are pruned by ``sync_runs_prune``, except those CRM
Settings still shows.

A worker *claims* a run with a conditional UPDATE and a fresh token; only a queued run, or a
running one whose heartbeat is older than ``settings.SYNC_STALE_SECONDS`` (its worker died: a
kill -9, a lost machine, django-q2's timeout), can be claimed. Every page checkpoint refreshes the
heartbeat and is written only while the worker's token still holds the claim, so a worker that
lost its run to a takeover stops at its next page instead of writing alongside the new owner.
"""

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from seats.models import Contract
from seats.retention import BATCH_SIZE, delete_in_batches
from sync.models import SyncProblem, SyncRun

# The run's last step; a trigger merged while it is under way may change what it decides
# (settings, seat sync), so the run is followed by one more.
SAVES_PHASE = "saves"


class RunLost(Exception):
    """This worker no longer holds the run (another worker took it over as stale)."""


def stale_before():
    return timezone.now() - timedelta(seconds=settings.SYNC_STALE_SECONDS)


def sync_run_request(
    *, contract: Contract, trigger: str, full: bool = False
) -> tuple[SyncRun, bool]:
    """The contract's active run: a new queued one, or the existing one this request merges into.

    Returns (run, created). A merged request marks the run for a follow-up only when the run is
    already applying saves, because until then the run will still read every change and the
    latest settings.
    """
    for _ in range(3):
        try:
            with transaction.atomic():
                return SyncRun.objects.create(contract=contract, trigger=trigger, full=full), True
        except IntegrityError:
            pass
        active = SyncRun.objects.filter(contract=contract, state__in=SyncRun.ACTIVE_STATES)
        if full:
            active.filter(state=SyncRun.State.QUEUED).update(full=True)
        active.filter(phase=SAVES_PHASE).update(rerun_requested=True)
        run = active.first()
        if run is not None:
            return run, False
        # The active run finished between our insert and our look: try again.
    raise RuntimeError(f"Could not request a sync run for contract {contract.pk}.")


def sync_run_held(*, run: SyncRun) -> bool:
    """Whether a live worker holds the run now (running, heartbeat fresh): a request can only
    merge into it, and needs no worker of its own."""
    return (
        run.state == SyncRun.State.RUNNING
        and run.heartbeat_at is not None
        and run.heartbeat_at >= stale_before()
    )


def sync_run_claim(*, run: SyncRun) -> bool:
    """Take the run for this worker: a queued run, or a running one that went stale.

    A conditional UPDATE, so of two workers racing for the same run exactly one wins. On success
    ``run`` carries the new worker token and state.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    runs = SyncRun.objects.filter(pk=run.pk)
    claimed = runs.filter(state=SyncRun.State.QUEUED).update(
        state=SyncRun.State.RUNNING, worker=token, heartbeat_at=now, started_at=now
    ) or runs.filter(state=SyncRun.State.RUNNING, heartbeat_at__lt=stale_before()).update(
        worker=token, heartbeat_at=now, resumes=F("resumes") + 1
    )
    if claimed:
        run.refresh_from_db()
    return bool(claimed)


def sync_run_checkpoint(*, run: SyncRun, **fields) -> None:
    """Save progress (and refresh the heartbeat) while this worker still holds the run.

    Called inside the page's transaction, so a lost claim rolls the page back with it. A run that
    is no longer running (stopped by a disconnect with clean-up) counts as lost too.
    """
    fields["heartbeat_at"] = timezone.now()
    holds = SyncRun.objects.filter(pk=run.pk, worker=run.worker, state=SyncRun.State.RUNNING)
    if not holds.update(**fields):
        raise RunLost(f"Sync run {run.pk} is no longer held by this worker.")
    for name, value in fields.items():
        setattr(run, name, value)


class RunRecorder:
    """A running run's counts and request tally, written with every checkpoint.

    ``counts`` is ``{table: {"read": n, "created": n, ...}, "saves": {...}}``; the record starts
    from what the run already holds, so a run resumed after a crash keeps counting where its last
    page left off.
    """

    def __init__(self, *, run: SyncRun, requests_sent: Callable[[], int]):
        self.run = run
        self._requests_sent = requests_sent
        self._requests_at_checkpoint = requests_sent()
        self._tables_done = 0
        # Two reading threads share the recorder. The lock is held until the run row is
        # updated, so counts go to the database in the order they were added; a thread waiting
        # here never holds the run row (a page's transaction updates it last).
        self._lock = threading.RLock()

    def checkpoint(self, *, table: str = "", add: dict | None = None, note: str = "", **fields):
        """Add ``add`` to the table's counts and save them with ``fields``; the heartbeat too."""
        with self._lock:
            counts = {name: dict(values) for name, values in self.run.counts.items()}
            if table:
                row = counts.setdefault(table, {})
                for name, value in (add or {}).items():
                    row[name] = row.get(name, 0) + value
                if note:
                    row["how"] = note
            sent = self._requests_sent()
            sync_run_checkpoint(
                run=self.run,
                counts=counts,
                requests=self.run.requests + sent - self._requests_at_checkpoint,
                **fields,
            )
            self._requests_at_checkpoint = sent

    def table_finished(self, *, of: int) -> None:
        """One more of ``of`` progress steps is done (tables finish in any order)."""
        with self._lock:
            self._tables_done += 1
            self.checkpoint(progress_done=self._tables_done, progress_total=of)

    def finish(self, *, state: str, error_kind: str = "", error_detail: str = "", **fields) -> bool:
        """End the run (succeeded or failed), with any other of its ``fields``. Returns whether a
        follow-up run was asked for."""
        self.checkpoint(
            state=state,
            finished_at=timezone.now(),
            error_kind=error_kind,
            error_detail=error_detail[:4000],
            **fields,
        )
        self.run.refresh_from_db(fields=["rerun_requested"])
        return self.run.rerun_requested


def _prunable_runs(*, before: datetime) -> QuerySet[SyncRun]:
    """Runs finished before ``before`` that CRM Settings no longer shows.

    It shows each contract's active run, its last finished run and its last successful one (and
    the schedule reads the newest run's start), so a run goes only when a later one of the same
    contract has finished, and, if it succeeded, a later one has succeeded too.
    """
    later = SyncRun.objects.filter(contract=OuterRef("contract")).filter(
        Q(finished_at__gt=OuterRef("finished_at"))
        | Q(finished_at=OuterRef("finished_at"), pk__gt=OuterRef("pk"))
    )
    return SyncRun.objects.filter(finished_at__lt=before).filter(
        Exists(later),
        ~Q(state=SyncRun.State.SUCCEEDED) | Exists(later.filter(state=SyncRun.State.SUCCEEDED)),
    )


def sync_runs_prune(*, before: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete runs finished before ``before``, with their problems; returns the runs deleted.

    The problems go first, in batches of their own (one run can hold many), so deleting the runs
    then removes nothing else.
    """
    runs = _prunable_runs(before=before)
    delete_in_batches(SyncProblem.objects.filter(run__in=runs), batch_size=batch_size)
    return delete_in_batches(runs, batch_size=batch_size)
