"""Fair scheduling's rule (``crm_settings.slots``): at most ``Q_MAX_WORKERS_PER_CONTRACT`` workers
per contract; a task that finds them taken waits as one waiter per contract and task, started
once when a slot frees (or, after a worker died, by the minute sweep once its lease ran out).

The waiters' task here is ``record_call`` below, queued through django-q2 (inline in the test
settings), so what is counted is what a worker would have run.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm_settings.models import SlotWaiter, WorkerSlot
from crm_settings.slots import (
    slot_release,
    slot_take,
    slot_waiters_wake_due,
    worker_slot,
)
from crm_settings.tasks import slot_waiters_wake
from tests.factories import ContractFactory

pytestmark = pytest.mark.django_db

RECORD = "tests.crm_settings.test_slots.record_call"
CALLS: list[tuple] = []


def record_call(*args) -> None:
    """The task the waiters name: remembers how it was called."""
    CALLS.append(args)


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


def test_one_worker_per_contract_by_default_and_other_contracts_unaffected(contract):
    other = ContractFactory()
    first = slot_take(contract_id=contract.pk, task="a")
    assert first
    assert slot_take(contract_id=contract.pk, task="b") is None
    assert slot_take(contract_id=other.pk, task="c")
    assert slot_release(contract_id=contract.pk, token=first)
    assert slot_take(contract_id=contract.pk, task="b")


def test_the_cap_is_the_setting(contract, settings):
    settings.Q_MAX_WORKERS_PER_CONTRACT = 3
    tokens = [slot_take(contract_id=contract.pk, task=str(n)) for n in range(4)]
    assert all(tokens[:3])
    assert tokens[3] is None
    assert WorkerSlot.objects.filter(contract=contract).exclude(holder="").count() == 3


def test_a_dead_workers_slot_is_free_once_its_lease_ran_out(contract, settings):
    dead = slot_take(contract_id=contract.pk, task="killed")
    later = timezone.now() + timedelta(seconds=settings.WORKER_SLOT_LEASE_SECONDS - 1)
    assert slot_take(contract_id=contract.pk, task="next", now=later) is None
    after = timezone.now() + timedelta(seconds=settings.WORKER_SLOT_LEASE_SECONDS + 1)
    assert slot_take(contract_id=contract.pk, task="next", now=after)
    assert not slot_release(contract_id=contract.pk, token=dead)  # it lost the slot


def test_tasks_finding_the_slots_taken_wait_once_and_start_when_the_slot_frees(contract):
    with worker_slot(contract_id=contract.pk, func="holder", args=()) as held:
        assert held
        for trigger in ("manual", "schedule"):
            with worker_slot(contract_id=contract.pk, func=RECORD, args=(1, trigger)) as waits:
                assert not waits
        assert SlotWaiter.objects.filter(contract=contract).count() == 1
        assert CALLS == []
    # Freed: the one waiter is started once, with the latest arguments.
    assert CALLS == [(1, "schedule")]
    assert not SlotWaiter.objects.exists()
    assert not WorkerSlot.objects.exclude(holder="").exists()


def test_a_waiter_started_by_the_freeing_task_is_not_started_again_by_the_sweep(contract):
    with (
        worker_slot(contract_id=contract.pk, func="holder", args=()),
        worker_slot(contract_id=contract.pk, func=RECORD, args=(2,)) as waits,
    ):
        assert not waits
    assert slot_waiters_wake() == 0
    assert CALLS == [(2,)]


def test_the_sweep_starts_what_waited_for_a_dead_worker_after_its_lease(contract, settings):
    slot_take(contract_id=contract.pk, task="killed")  # never released: kill -9
    with worker_slot(contract_id=contract.pk, func=RECORD, args=(3,)) as waits:
        assert not waits
    assert slot_waiters_wake_due() == 0  # the lease still runs
    after = timezone.now() + timedelta(seconds=settings.WORKER_SLOT_LEASE_SECONDS + 1)
    assert slot_waiters_wake_due(now=after) == 1
    assert CALLS == [(3,)]


def test_a_task_that_raises_frees_its_slot_and_starts_the_waiters(contract):
    with pytest.raises(RuntimeError), worker_slot(contract_id=contract.pk, func="x", args=()):
        with worker_slot(contract_id=contract.pk, func=RECORD, args=(4,)) as waits:
            assert not waits
        raise RuntimeError("boom")
    assert CALLS == [(4,)]
    assert slot_take(contract_id=contract.pk, task="y")
