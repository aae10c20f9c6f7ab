"""What an item's activity looks like in Dynamics, and which record it regards (no CRM needed)."""

import uuid
from datetime import UTC, datetime

import pytest

from dynamics import ChangeSet, Operation
from tests.factories import (
    CompanyFactory,
    CrmAccountFactory,
    CrmContactFactory,
    OutboxEntryFactory,
)
from writeback.activities import CrmRecord, activity_create, activity_state
from writeback.matching import matches_find
from writeback.models import RecordMatch

pytestmark = pytest.mark.django_db

OWNER = uuid.UUID("5a3c1f0e-0000-4000-8000-000000000001")


def test_a_matched_inmail_is_created_regarding_the_record_and_closed_in_one_change_set():
    entry = OutboxEntryFactory(
        message__thread__kind="inmail",
        message__thread__subject="Quick question",
        message__sent_at=datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC),
    )
    contact = CrmRecord(type="contact", id=uuid.uuid4())

    request = activity_create(entry=entry, owner_id=OWNER, record=contact)

    assert isinstance(request, ChangeSet)
    create, close = request.operations
    assert (create.method, create.url_path) == ("PATCH", f"li_inmails({entry.activity_id})")
    assert create.headers == {"If-None-Match": "*"}
    assert create.body["regardingobjectid_contact_li_inmail@odata.bind"] == (
        f"/contacts({contact.id})"
    )
    assert create.body["ownerid@odata.bind"] == f"/systemusers({OWNER})"
    assert create.body["actualend"] == "2026-03-01T09:30:15Z"
    assert create.body["subject"].startswith("LinkedIn InMail to ")
    assert close.body == {"statecode": 1, "statuscode": 2}


def test_an_unmatched_note_is_a_lone_open_task():
    entry = OutboxEntryFactory(on_note=True)

    request = activity_create(entry=entry, owner_id=OWNER, record=None)

    assert isinstance(request, Operation)
    assert request.url_path == f"tasks({entry.activity_id})"
    assert not any("regardingobjectid" in key for key in request.body)


def test_a_task_closes_with_its_own_status():
    entry = OutboxEntryFactory(on_note=True)
    request = activity_create(entry=entry, owner_id=OWNER, record=CrmRecord("lead", uuid.uuid4()))
    assert request.operations[1].body == {"statecode": 1, "statuscode": 5}
    assert "regardingobjectid_lead_task@odata.bind" in request.operations[0].body


def test_the_state_read_back_names_the_record_it_regards():
    contact_id = str(uuid.uuid4())
    row = {
        "statecode": 1,
        "_regardingobjectid_value": contact_id,
        "_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "contact",
    }
    state = activity_state(row)
    assert not state.open and state.regarding == CrmRecord("contact", uuid.UUID(contact_id))
    assert activity_state({"statecode": 0}).open


def test_a_chosen_record_comes_before_the_imports_match():
    entry = OutboxEntryFactory()
    member, contract = entry.message.thread.member, entry.contract
    CrmContactFactory(contract=contract, member=member, match_method="name_company")
    best = CrmContactFactory(contract=contract, member=member, match_method="email")
    assert matches_find(contract_id=contract.pk, entries=[entry], lookup=None)[entry.pk] == (
        CrmRecord("contact", best.crm_id, best.full_name)
    )

    chosen = RecordMatch.objects.create(
        contract=contract, member=member, record_type="lead", record_id=uuid.uuid4()
    )
    record = matches_find(contract_id=contract.pk, entries=[entry], lookup=None)[entry.pk]
    assert (record.type, record.id) == ("lead", chosen.record_id)


def test_a_note_on_an_account_matches_the_imported_account_of_its_company():
    company = CompanyFactory()
    entry = OutboxEntryFactory(on_note=True, note__member=None, note__company=company)
    account = CrmAccountFactory(contract=entry.contract, company=company)
    CrmAccountFactory(company=company)  # another contract's
    record = matches_find(contract_id=entry.contract_id, entries=[entry], lookup=None)[entry.pk]
    assert (record.type, record.id) == ("account", account.crm_id)
