"""Fair scheduling of writeback (``crm_settings.slots``): while the contract's import holds its
worker (``Q_MAX_WORKERS_PER_CONTRACT``, 1 here), a drain steps aside, its items staying queued,
and it delivers them once the import ends (tasks run inline in the test settings)."""

import pytest

from crm_settings.models import SlotWaiter
from crm_settings.slots import worker_slot
from tests.factories import MemberFactory, copied_messages_bulk_create
from writeback.models import OutboxEntry, OutboxState
from writeback.tasks import DRAIN_OUTBOX, drain_outbox

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]


def test_a_drain_waits_for_its_contracts_worker_and_then_delivers(rep, dynamics):
    entries = copied_messages_bulk_create(seat=rep, members=[MemberFactory()], count=3)
    ids = {str(entry.activity_id) for entry in entries}
    with worker_slot(contract_id=rep.contract_id, func="sync.tasks.sync_run", args=()):
        assert drain_outbox(rep.contract_id) == 0
        assert drain_outbox(rep.contract_id) == 0
        assert OutboxEntry.objects.filter(state=OutboxState.QUEUED).count() == 3
        [waiter] = SlotWaiter.objects.filter(contract_id=rep.contract_id)
        assert waiter.func == DRAIN_OUTBOX
    assert OutboxEntry.objects.filter(state=OutboxState.SENT).count() == 3
    delivered = [row["activityid"] for row in dynamics.rows("li_messages", top=100_000)]
    assert ids <= set(delivered)
    assert sum(activity_id in ids for activity_id in delivered) == 3
