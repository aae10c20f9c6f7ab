"""Delivery after a real import: the import's matches decide what is closed, and on which record."""

import pytest

from inbox.services import message_send
from network.demo import network_seed
from sync.models import CrmContact, SeatCrmUser
from sync.runs import sync_run_claim, sync_run_request
from sync.services import sync_run_execute
from tests.factories import MemberFactory, SeatFactory
from tests.writeback.conftest import ALEX, connect, copy_everything
from writeback.models import OutboxEntry, OutboxState
from writeback.tasks import drain_outbox

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]


def test_items_are_closed_on_the_contacts_the_import_matched(
    demo_crm, contract, admin, monkeypatch
):
    """GIVEN the demo org imported for Alex Morgan, its contacts matched to the demo network
    WHEN Alex copies a message to a member the import matched, and one to a stranger
    THEN the first is closed on the imported contact, owned and created by Alex; the second is
    open, for the unresolved-task report."""
    rep = SeatFactory(contract=contract, user__email=ALEX)
    network_seed()
    connect(demo_crm, contract, admin)
    run, _ = sync_run_request(contract=contract, trigger="manual")
    assert sync_run_claim(run=run)
    sync_run_execute(run=run)
    copy_everything(contract, monkeypatch)
    imported = (
        CrmContact.objects.filter(contract=contract, member__isnull=False)
        .select_related("member")
        .order_by("crm_id")
        .first()
    )
    assert imported is not None, "the import matched no contact"
    matched = message_send(seat=rep, member=imported.member, body="Hi", copy_to_crm=True)
    stranger = message_send(seat=rep, member=MemberFactory(), body="Hello", copy_to_crm=True)

    drain_outbox(contract.pk)

    entry = OutboxEntry.objects.get(message=matched)
    assert (entry.state, entry.written_open, entry.regarding_id) == (
        OutboxState.SENT, False, imported.crm_id,
    )  # fmt: skip
    row = demo_crm.row("li_messages", str(entry.activity_id))
    alex = SeatCrmUser.objects.get(seat=rep).crm_user
    assert row["_regardingobjectid_value"] == str(imported.crm_id)
    assert row["_ownerid_value"] == row["_createdby_value"] == str(alex.crm_id)
    entry = OutboxEntry.objects.get(message=stranger)
    assert (entry.state, entry.written_open) == (OutboxState.SENT, True)
