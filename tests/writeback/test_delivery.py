"""Delivery to the Dynamics emulator: where each item lands, closed or open, owned and created by
whom, withdrawn and removed, and how failures are recorded."""

import pytest
from django.utils import timezone

from crm_settings.connect import crm_choices_refresh
from crm_settings.models import CrmSettings
from inbox.services import inmail_send, message_send, message_set_copy, note_create
from tests.dynamics.contract_support import FAST
from tests.factories import (
    CompanyFactory,
    CrmAccountFactory,
    CrmContactFactory,
    MemberFactory,
    SeatFactory,
)
from tests.writeback.conftest import ALEX, copy_everything, map_seats
from writeback.models import ErrorKind, OutboxEntry, OutboxState
from writeback.outbox import outbox_retry
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


@pytest.fixture
def restore_privileges(dynamics):
    """Put back, after the test, the emulator privileges of the users it changes."""
    saved = {}

    def change(email, **privileges):
        saved.setdefault(email, dynamics.privileges(email))
        dynamics.set_privileges(email, **privileges)

    yield change
    for email, privileges in saved.items():
        dynamics.set_privileges(email, **privileges)


@pytest.fixture
def linkedin_solution(dynamics):
    """The emulator's LinkedIn solution, installed again after the test."""
    yield dynamics
    dynamics.set_linkedin_solution(True)


def test_without_the_delegate_privilege_the_seat_holder_is_owner_only(
    contract, admin, connect_crm, dynamics, monkeypatch
):
    """The seed's case: connected as an admin who cannot act for others, so Dynamics lists the
    admin as creator; the seat holder still owns the activity."""
    connect_crm(admin, as_email="admin@contoso-demo.com")
    copy_everything(contract, monkeypatch)
    rep = SeatFactory(contract=contract, user__email=ALEX)
    map_seats(contract)
    assert not contract.crm_connection.can_impersonate
    message = message_send(seat=rep, member=MemberFactory(), body="Hi", copy_to_crm=True)

    drain_outbox(contract.pk)

    row = _activity(dynamics, message)
    assert row["_ownerid_value"] == dynamics.user(ALEX)["systemuserid"]
    assert row["_createdby_value"] == dynamics.user("admin@contoso-demo.com")["systemuserid"]
    assert row.get("_createdonbehalfby_value") is None


def test_a_refused_impersonation_falls_back_to_owner_only(rep, dynamics, restore_privileges):
    restore_privileges(INTEGRATION, delegate=False)
    message = message_send(seat=rep, member=MemberFactory(), body="Hi", copy_to_crm=True)

    drain_outbox(rep.contract_id)

    assert _entry(message).state == OutboxState.SENT
    row = _activity(dynamics, message)
    assert row["_ownerid_value"] == dynamics.user(ALEX)["systemuserid"]
    assert row["_createdby_value"] == dynamics.user(INTEGRATION)["systemuserid"]
    rep.contract.crm_connection.refresh_from_db()
    assert not rep.contract.crm_connection.can_impersonate


def test_a_seat_without_a_crm_user_waits_or_fails_with_the_reason(copying, dynamics):
    unknown = SeatFactory(contract=copying, user__email="nobody@contoso.test")
    map_seats(copying)
    never_checked = SeatFactory(contract=copying)
    failing = message_send(seat=unknown, member=MemberFactory(), body="x", copy_to_crm=True)
    waiting = message_send(seat=never_checked, member=MemberFactory(), body="y", copy_to_crm=True)

    drain_outbox(copying.pk)

    entry = _entry(failing)
    assert (entry.state, entry.last_error_kind) == (OutboxState.FAILED, ErrorKind.UNMAPPED)
    assert "No CRM user has the email nobody@contoso.test" in entry.last_error_detail
    assert "Seat Management" in entry.next_step
    assert _entry(waiting).state == OutboxState.RETRYING
    assert dynamics.row("li_messages", str(entry.activity_id)) is None


def test_one_bad_item_does_not_hold_back_the_others_in_its_batch(rep, dynamics):
    gone = MemberFactory()
    CrmContactFactory(contract=rep.contract, member=gone, match_method="email")  # not in the CRM
    bad = message_send(seat=rep, member=gone, body="x", copy_to_crm=True)
    good = message_send(seat=rep, member=MemberFactory(), body="y", copy_to_crm=True)
    dynamics.reset_stats()

    assert drain_outbox(rep.contract_id) == 2

    assert _entry(good).state == OutboxState.SENT
    entry = _entry(bad)
    assert (entry.state, entry.last_error_kind) == (OutboxState.RETRYING, ErrorKind.MISSING)
    assert "Does Not Exist" in entry.last_error_detail
    assert dynamics.stats()["by_kind"]["api"] == 2  # the live lookup, then one $batch


def test_an_activity_an_earlier_attempt_created_is_closed_not_doubled(rep, dynamics, crm_person):
    """GIVEN an attempt that created the open activity but never recorded it (its worker died)
    WHEN the item is delivered again, now matched
    THEN the same activity is re-pointed to the contact and closed: still one activity."""
    contact = crm_person("contacts")
    member = MemberFactory(email=contact["emailaddress1"])
    message = message_send(seat=rep, member=member, body="x", copy_to_crm=True)
    activity_id = str(_entry(message).activity_id)
    dynamics.create_row("li_messages", activityid=activity_id, subject="An earlier attempt")

    drain_outbox(rep.contract_id)

    entry = _entry(message)
    assert (entry.state, entry.written_open) == (OutboxState.SENT, False)
    assert dynamics.rows("li_messages", filter=f"activityid eq {activity_id}") == [
        dynamics.row("li_messages", activity_id)
    ]
    row = dynamics.row("li_messages", activity_id)
    assert row["statecode"] == 1
    assert row["_regardingobjectid_value"] == contact["contactid"]


def test_without_the_linkedin_solution_inmails_and_messages_wait(rep, linkedin_solution):
    linkedin_solution.set_linkedin_solution(False)
    member = MemberFactory()
    message = message_send(seat=rep, member=member, body="x", copy_to_crm=True)
    note = note_create(seat=rep, member=member, body="y", copy_to_crm=True)

    drain_outbox(rep.contract_id)

    assert _entry(note).state == OutboxState.SENT
    entry = _entry(message)
    assert (entry.state, entry.last_error_kind) == (OutboxState.RETRYING, ErrorKind.MISSING)
    connection = rep.contract.crm_connection
    connection.refresh_from_db()
    assert not connection.linkedin_solution_installed
    OutboxEntry.objects.update(next_attempt_at=timezone.now())
    assert drain_outbox(rep.contract_id) == 0  # not taken while the solution is missing

    linkedin_solution.set_linkedin_solution(True)
    crm_choices_refresh(connection=connection)  # the admin selects Refresh from CRM
    drain_outbox(rep.contract_id)
    assert _entry(message).state == OutboxState.SENT


def test_a_failed_item_goes_through_after_retry(rep, dynamics, restore_privileges):
    restore_privileges(ALEX, create=["task"])  # no longer allowed to create li_messages
    message = message_send(seat=rep, member=MemberFactory(), body="x", copy_to_crm=True)

    drain_outbox(rep.contract_id)

    entry = _entry(message)
    assert (entry.state, entry.last_error_kind) == (OutboxState.FAILED, ErrorKind.PRIVILEGE)
    restore_privileges(ALEX, create=["*"])
    outbox_retry(entry=entry)
    drain_outbox(rep.contract_id)
    assert _entry(message).state == OutboxState.SENT


def test_a_revoked_sign_in_stops_the_run_and_the_items_wait(rep, dynamics):
    message = message_send(seat=rep, member=MemberFactory(), body="x", copy_to_crm=True)
    dynamics.expire_tokens(refresh=True)

    drain_outbox(rep.contract_id)

    entry = _entry(message)
    assert (entry.state, entry.last_error_kind) == (OutboxState.RETRYING, ErrorKind.AUTH)
    connection = rep.contract.crm_connection
    connection.refresh_from_db()
    assert (connection.status, connection.last_error_kind) == ("error", "auth")


def test_when_impersonating_each_seat_holder_writes_their_own_batch(rep, dynamics):
    priya = SeatFactory(contract=rep.contract, user__email="priya.shah@contoso-demo.com")
    map_seats(rep.contract)
    member = MemberFactory(email="")  # no live lookup: only the batches are sent
    mine = message_send(seat=rep, member=member, body="x", copy_to_crm=True)
    hers = message_send(seat=priya, member=member, body="y", copy_to_crm=True)
    dynamics.reset_stats()

    assert drain_outbox(rep.contract_id) == 2

    assert dynamics.stats()["by_kind"]["api"] == 2
    for item, email in ((mine, ALEX), (hers, "priya.shah@contoso-demo.com")):
        row = _activity(dynamics, item)
        assert (
            row["_createdby_value"] == row["_ownerid_value"] == dynamics.user(email)["systemuserid"]
        )


def test_an_activity_deleted_in_the_crm_counts_as_removed(rep, dynamics):
    message = message_send(seat=rep, member=MemberFactory(), body="x", copy_to_crm=True)
    drain_outbox(rep.contract_id)
    entry = _entry(message)
    dynamics.delete_row("li_messages", str(entry.activity_id))

    message_set_copy(message=message, copy_to_crm=False)
    drain_outbox(rep.contract_id)

    assert _entry(message).state == OutboxState.REMOVED


def test_a_crm_out_of_reach_pauses_the_run_after_one_failed_batch(rep, dynamics, monkeypatch):
    # The client's patient retries, made quick.
    monkeypatch.setattr("dynamics.client.RetryPolicy", lambda: FAST)
    member = MemberFactory(email="")
    messages = [message_send(seat=rep, member=member, body=b, copy_to_crm=True) for b in "xyz"]
    dynamics.set_faults(unreachable=True, scope="api")

    assert drain_outbox(rep.contract_id, batch_size=1) == 1

    entry = _entry(messages[0])
    assert (entry.state, entry.last_error_kind) == (OutboxState.RETRYING, ErrorKind.CONNECT)
    assert {_entry(m).state for m in messages[1:]} == {OutboxState.QUEUED}
