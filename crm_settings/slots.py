"""Fair scheduling: at most ``Q_MAX_WORKERS_PER_CONTRACT`` task workers work for one contract at
once, across every ``qcluster`` process on the shared broker and database.

The import (``sync.tasks.sync_run``) and the writeback drain (``writeback.tasks.drain_outbox``)
each hold one of their contract's ``WorkerSlot`` rows while they work (``worker_slot``). A task
that finds every slot of its contract taken does not wait on its worker: it writes itself down as
a ``SlotWaiter`` and returns at once, so the worker goes on to another contract's task and one
contract's long import never holds up the others. When a slot frees, the task freeing it starts
its contract's waiters again (``django_q.tasks.async_task``, by name and arguments)::

    task ──slot free──> holds the slot (lease renewed) ──done──> slot free ──> waiters started
    task ──all taken──> waiter (one per contract and task) ──a slot frees──> task again

Nothing is lost and nothing runs twice:

- a waiter is written before the second try for a slot, and a holder frees its slot before it
  reads the waiters, so either the task gets the slot or the holder sees the waiter;
- one waiter per contract and task: the import's requests already merge into its one active run
  (the waiter names the run), and one drain delivers whatever is due;
- a waiter is started by whoever deletes its row (the freeing task or the minute sweep), once.

A slot is held by a lease (``WORKER_SLOT_LEASE_SECONDS``), renewed every third of it from a
thread of the holder's (``_Renewer``), so the slot of a worker killed with kill -9 frees itself a
lease after its last renewal, and the minute sweep (``slot_waiters_wake_due``) starts what waited.
Works the same on PostgreSQL and SQLite: every take is a conditional UPDATE or a unique INSERT.
"""

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from crm_settings.models import SlotWaiter, WorkerSlot

logger = logging.getLogger(__name__)


def _lease() -> timedelta:
    return timedelta(seconds=settings.WORKER_SLOT_LEASE_SECONDS)


def _free(now: datetime) -> Q:
    return Q(holder="") | Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def slot_take(*, contract_id: int, task: str, now: datetime | None = None) -> str | None:
    """Take a free slot of the contract for ``task``; its holder token, or None when all
    ``Q_MAX_WORKERS_PER_CONTRACT`` are held. Two queries when a slot row is free."""
    now = now or timezone.now()
    cap = settings.Q_MAX_WORKERS_PER_CONTRACT
    token = uuid.uuid4().hex
    held = {"holder": token, "task": task[:100], "lease_until": now + _lease()}
    slots = WorkerSlot.objects.filter(contract_id=contract_id, number__lt=cap)
    rows = {
        number: (holder, until)
        for number, holder, until in slots.values_list("number", "holder", "lease_until")
    }
    free = slots.filter(_free(now))
    # The free ones as read; the UPDATE checks again, so of two tasks taking one slot, one wins.
    for number, (holder, until) in sorted(rows.items()):
        if (not holder or until is None or until < now) and free.filter(number=number).update(
            **held
        ):
            return token
    for number in sorted(set(range(cap)) - set(rows)):
        try:
            with transaction.atomic():
                WorkerSlot.objects.create(contract_id=contract_id, number=number, **held)
        except IntegrityError:
            continue  # another task created it first, and holds it
        return token
    return None


def slot_release(*, contract_id: int, token: str) -> bool:
    """Free the slot ``token`` holds; False when it no longer held one (its lease ran out and
    another task took it)."""
    freed = WorkerSlot.objects.filter(contract_id=contract_id, holder=token).update(
        holder="", task="", lease_until=None
    )
    return bool(freed)


def slot_renew(*, contract_id: int, token: str, now: datetime | None = None) -> bool:
    """Extend the lease of the slot ``token`` holds by a lease from ``now``; False when lost."""
    now = now or timezone.now()
    renewed = WorkerSlot.objects.filter(contract_id=contract_id, holder=token).update(
        lease_until=now + _lease()
    )
    return bool(renewed)


def slot_waiter_add(*, contract_id: int, func: str, args: tuple) -> None:
    """Write down that ``func(*args)`` waits for a slot of the contract (joining the waiter of
    the same task if there is one: the latest arguments win)."""
    # IntegrityError: the contract was deleted meanwhile, and nothing is left to do for it.
    with contextlib.suppress(IntegrityError):
        SlotWaiter.objects.update_or_create(
            contract_id=contract_id,
            func=func,
            defaults={"args": list(args), "waiting_since": timezone.now()},
        )


def _start(waiter: SlotWaiter) -> bool:
    """Start a waiter's task, if this call is the one that removes it (so it starts once)."""
    from django_q.tasks import async_task

    deleted, _ = SlotWaiter.objects.filter(pk=waiter.pk).delete()
    if not deleted:
        return False
    logger.info(
        "Contract %s: starting %s, which waited for a worker", waiter.contract_id, waiter.func
    )
    async_task(waiter.func, *waiter.args)
    return True


def slot_waiters_wake(*, contract_id: int) -> int:
    """Start every waiter of the contract, oldest first; returns how many this call started.

    Each takes a slot or, all being taken again, waits again: with one slot, a contract's import
    and its drain take turns.
    """
    waiters = SlotWaiter.objects.filter(contract_id=contract_id).order_by("waiting_since", "pk")
    return sum(_start(waiter) for waiter in waiters)


def slot_waiters_wake_due(*, now: datetime | None = None) -> int:
    """The minute sweep: start the waiters of contracts with a free slot (the slot of a worker
    that died frees itself when its lease runs out, and nobody else would start them)."""
    now = now or timezone.now()
    cap = settings.Q_MAX_WORKERS_PER_CONTRACT
    contract_ids = set(SlotWaiter.objects.values_list("contract_id", flat=True))
    held: dict[int, int] = {}
    for contract_id in (
        WorkerSlot.objects.filter(contract_id__in=contract_ids, number__lt=cap)
        .exclude(_free(now))
        .values_list("contract_id", flat=True)
    ):
        held[contract_id] = held.get(contract_id, 0) + 1
    return sum(
        slot_waiters_wake(contract_id=contract_id)
        for contract_id in sorted(contract_ids)
        if held.get(contract_id, 0) < cap
    )


class _Renewer:
    """Renews one slot's lease every third of a lease from a thread of its own, until stopped.

    Inside a transaction (a caller's, or a test's) the slot is invisible to every other
    connection, so nobody can take it and no thread is started (as ``LeaseKeeper`` does).
    """

    def __init__(self, *, contract_id: int, token: str):
        self.contract_id = contract_id
        self.token = token
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "_Renewer":
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._run, name="worker-slot", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        interval = settings.WORKER_SLOT_LEASE_SECONDS / 3
        try:
            while not self._stop.wait(interval):
                try:
                    if not slot_renew(contract_id=self.contract_id, token=self.token):
                        logger.warning("Contract %s: this worker's slot was lost", self.contract_id)
                        return
                except DatabaseError:
                    logger.warning("Could not renew a worker slot", exc_info=True)
        finally:
            connection.close()


@contextlib.contextmanager
def worker_slot(*, contract_id: int, func: str, args: tuple) -> Iterator[bool]:
    """Hold one of the contract's worker slots for the block, the task being ``func(*args)``.

    Yields True while the slot is held (its lease renewed); False when every slot is taken: the
    task is then a waiter, started again when a slot frees, and must return without working.
    ``args`` must be plain JSON values (the waiter keeps them).
    """
    token = slot_take(contract_id=contract_id, task=func)
    if token is None:
        slot_waiter_add(contract_id=contract_id, func=func, args=args)
        # Again, now that the waiter is written: a holder that freed its slot in between did
        # not see the waiter, so this try sees the free slot.
        token = slot_take(contract_id=contract_id, task=func)
        if token is None:
            logger.info("Contract %s: %s waits for a worker (all slots taken)", contract_id, func)
            yield False
            return
        # This task does the waiter's work.
        SlotWaiter.objects.filter(contract_id=contract_id, func=func).delete()
    try:
        with _Renewer(contract_id=contract_id, token=token):
            yield True
    finally:
        slot_release(contract_id=contract_id, token=token)
        slot_waiters_wake(contract_id=contract_id)
