"""Delivery to the Dynamics emulator: where each item lands, closed or open, owned and created by
whom, withdrawn and removed, and how failures are recorded."""

import pytest

from crm_settings.models import CrmSettings
from tests.factories import CompanyFactory, CrmAccountFactory, CrmContactFactory, MemberFactory
from tests.writeback.conftest import ALEX
from writeback.models import OutboxEntry, OutboxState
from writeback.services import inmail_send, message_send, message_set_copy, note_create
from writeback.tasks import drain_outbox

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

INTEGRATION = "integration@contoso-demo.com"


def _entry(item) -> OutboxEntry:
    return OutboxEntry.objects.get(pk=item.delivery.pk)


def _activity(dynamics, item) -> dict | None:
    entry = _entry(item)
    return dynamics.row(entry.crm_entity_set or "li_messages", str(entry.activity_id))


def test_a_message_to_a_matched_member_is_closed_on_the_contact(rep, dynamics, crm_person):
    """GIVEN a member the import matched to a CRM contact
    WHEN the seat holder's copied message is delivered
    THEN it is a closed li_message regarding the contact, owned and created by the seat holder."""
    contact = crm_person("contacts")
    member = MemberFactory()
    CrmContactFactory(
        contract=rep.contract, crm_id=contact["contactid"], member=member, match_method="email"
    )
    message = message_send(seat=rep, member=member, body="Hello Robin", copy_to_crm=True)

    assert drain_outbox(rep.contract_id) == 1

    entry = _entry(message)
    assert entry.state == OutboxState.SENT
    assert (entry.written_open, entry.regarding_type) == (False, "contact")
    assert str(entry.regarding_id) == contact["contactid"]
    row = dynamics.row("li_messages", str(entry.activity_id))
    alex, integration = dynamics.user(ALEX), dynamics.user(INTEGRATION)
    assert (row["statecode"], row["statuscode"]) == (1, 2)
    assert row["_regardingobjectid_value"] == contact["contactid"]
    assert row["_ownerid_value"] == alex["systemuserid"]
    assert row["_createdby_value"] == alex["systemuserid"]
    assert row["_createdonbehalfby_value"] == integration["systemuserid"]
    assert row["description"] == "Hello Robin"
    assert entry.crm_url.endswith(f"etn=li_message&id={entry.activity_id}")


def test_a_member_is_found_live_by_email(rep, dynamics, crm_person):
    contact, lead = crm_person("contacts"), crm_person("leads")
    to_contact = MemberFactory(email=contact["emailaddress1"])
    to_lead = MemberFactory(email=lead["emailaddress1"].upper())
    first = inmail_send(seat=rep, member=to_contact, subject="Hi", body="x", copy_to_crm=True)
    second = message_send(seat=rep, member=to_lead, body="y", copy_to_crm=True)

    drain_outbox(rep.contract_id)

    inmail = dynamics.row("li_inmails", str(_entry(first).activity_id))
    assert inmail["statecode"] == 1
    assert inmail["_regardingobjectid_value"] == contact["contactid"]
    assert _entry(second).regarding_type == "lead"
    assert _activity(dynamics, second)["_regardingobjectid_value"] == lead["leadid"]


def test_an_unmatched_member_gets_an_open_activity_regarding_nothing(rep, dynamics):
    message = message_send(seat=rep, member=MemberFactory(), body="Hello", copy_to_crm=True)

    drain_outbox(rep.contract_id)

    entry = _entry(message)
    assert (entry.state, entry.written_open, entry.regarding_id) == (OutboxState.SENT, True, None)
    row = _activity(dynamics, message)
    assert row["statecode"] == 0
    assert row.get("_regardingobjectid_value") is None
    assert row["_ownerid_value"] == dynamics.user(ALEX)["systemuserid"]


def test_notes_are_tasks_on_the_lead_or_the_account(rep, dynamics, crm_person):
    contact = crm_person("contacts")
    lead = MemberFactory(email=contact["emailaddress1"])
    company = CompanyFactory()
    account = dynamics.create_row("accounts", name=company.name)
    CrmAccountFactory(contract=rep.contract, crm_id=account["accountid"], company=company)
    on_lead = note_create(seat=rep, member=lead, body="Met at the fair", copy_to_crm=True)
    on_account = note_create(seat=rep, company=company, body="Budget in Q3", copy_to_crm=True)

    drain_outbox(rep.contract_id)

    task = dynamics.row("tasks", str(_entry(on_lead).activity_id))
    assert (task["statecode"], task["statuscode"]) == (1, 5)
    assert task["_regardingobjectid_value"] == contact["contactid"]
    task = dynamics.row("tasks", str(_entry(on_account).activity_id))
    assert task["_regardingobjectid_value"] == account["accountid"]
    assert _entry(on_account).regarding_type == "account"


def test_an_item_unticked_before_delivery_never_reaches_the_crm(rep, dynamics):
    message = message_send(seat=rep, member=MemberFactory(), body="Oops", copy_to_crm=True)
    message_set_copy(message=message, copy_to_crm=False)

    assert drain_outbox(rep.contract_id) == 0

    entry = _entry(message)
    assert entry.state == OutboxState.WITHDRAWN
    assert dynamics.row("li_messages", str(entry.activity_id)) is None


def test_an_item_unticked_after_delivery_is_removed_from_the_crm(rep, dynamics):
    message = message_send(seat=rep, member=MemberFactory(), body="Oops", copy_to_crm=True)
    drain_outbox(rep.contract_id)
    assert _activity(dynamics, message) is not None

    message_set_copy(message=message, copy_to_crm=False)
    drain_outbox(rep.contract_id)

    assert _entry(message).state == OutboxState.REMOVED
    assert _activity(dynamics, message) is None


def test_types_the_admin_does_not_copy_are_never_sent(rep, dynamics):
    member = MemberFactory()
    inmail = inmail_send(seat=rep, member=member, subject="Hi", body="x", copy_to_crm=True)
    message = message_send(seat=rep, member=member, body="y", copy_to_crm=True)
    note = note_create(seat=rep, member=member, body="z", copy_to_crm=True)
    CrmSettings.objects.filter(contract=rep.contract).update(
        writeback_all=False, writeback_inmails=False, writeback_notes=False
    )

    assert drain_outbox(rep.contract_id) == 1

    assert _entry(message).state == OutboxState.SENT
    for item, entity_set in ((inmail, "li_inmails"), (note, "tasks")):
        assert _entry(item).state == OutboxState.QUEUED
        assert dynamics.row(entity_set, str(_entry(item).activity_id)) is None
