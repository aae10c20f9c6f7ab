"""Contract: creates, updates, upserts, deletes, impersonation, closed activities, $batch."""

import uuid

import pytest

from dynamics import (
    ChangeSet,
    DuplicateRecord,
    NotFound,
    Operation,
    PrivilegeError,
    ValidationFailed,
)
from tests.dynamics.contract_support import ADMIN, ALEX, app_client, user_client

pytestmark = pytest.mark.emulator


@pytest.fixture
def crm(emulator_clean):
    return app_client(emulator_clean)


@pytest.fixture
def contact_id(crm):
    return next(crm.iter_rows("contacts", select="fullname", top=1))["contactid"]


def _app_user(emulator):
    return next(user for user in emulator.users() if user["application_user"])


def test_create_with_a_caller_chosen_id_and_its_duplicate(crm, emulator_clean, contact_id):
    task_id = str(uuid.uuid4())
    body = {
        "subject": "Sent InMail",
        "description": "Hello from the portal",
        "regardingobjectid_contact_task@odata.bind": f"/contacts({contact_id})",
    }
    assert crm.create("tasks", body, row_id=task_id) == task_id
    stored = emulator_clean.row("tasks", task_id)
    assert stored["subject"] == "Sent InMail"
    assert stored["_regardingobjectid_value"] == contact_id
    assert stored["_createdby_value"] == _app_user(emulator_clean)["systemuserid"]
    with pytest.raises(DuplicateRecord) as caught:
        crm.create("tasks", body, row_id=task_id)
    assert caught.value.status == 412
    assert caught.value.table == "tasks"


def test_create_without_an_id_returns_the_new_id(crm, emulator_clean):
    new_id = crm.create("annotations", {"subject": "Note", "notetext": "Met at the fair"})
    assert emulator_clean.row("annotations", new_id)["notetext"] == "Met at the fair"


def test_update_upsert_and_delete(crm, emulator_clean):
    task_id = crm.create("tasks", {"subject": "v1"}, row_id=str(uuid.uuid4()))
    crm.update("tasks", task_id, {"subject": "v2"})
    assert emulator_clean.row("tasks", task_id)["subject"] == "v2"
    etag = crm.get_row("tasks", task_id, select="subject")["@odata.etag"]
    crm.update("tasks", task_id, {"subject": "v3"}, if_match=etag)
    with pytest.raises(NotFound):
        crm.update("tasks", str(uuid.uuid4()), {"subject": "nobody"})

    upserted = str(uuid.uuid4())
    crm.upsert("tasks", upserted, {"subject": "made by upsert"})
    crm.upsert("tasks", upserted, {"subject": "changed by upsert"})
    assert emulator_clean.row("tasks", upserted)["subject"] == "changed by upsert"
    with pytest.raises(NotFound):
        crm.upsert("tasks", str(uuid.uuid4()), {"subject": "x"}, prevent_create=True)
    with pytest.raises(DuplicateRecord):
        crm.upsert("tasks", upserted, {"subject": "x"}, prevent_update=True)

    crm.delete("tasks", task_id)
    assert emulator_clean.row("tasks", task_id) is None
    with pytest.raises(NotFound):
        crm.delete("tasks", task_id)


def test_validation_errors(crm, contact_id):
    with pytest.raises(ValidationFailed) as caught:
        crm.create("tasks", {"subject": "x" * 201}, row_id=str(uuid.uuid4()))
    assert caught.value.code == "0x80044331"
    assert "subject" in str(caught.value)


def test_impersonation_records_the_rep_as_creator(crm, emulator_clean):
    alex = emulator_clean.user(ALEX)
    task_id = crm.create(
        "tasks",
        {"subject": "On behalf of Alex"},
        row_id=str(uuid.uuid4()),
        caller_object_id=alex["azureactivedirectoryobjectid"],
    )
    stored = emulator_clean.row("tasks", task_id)
    assert stored["_createdby_value"] == alex["systemuserid"]
    assert stored["_ownerid_value"] == alex["systemuserid"]
    assert stored["_createdonbehalfby_value"] == _app_user(emulator_clean)["systemuserid"]


def test_impersonation_needs_the_delegate_privilege(emulator_clean):
    admin = user_client(emulator_clean, ADMIN)  # read/write, no delegate
    alex = emulator_clean.user(ALEX)
    with pytest.raises(PrivilegeError) as caught:
        admin.create(
            "tasks",
            {"subject": "x"},
            row_id=str(uuid.uuid4()),
            caller_object_id=alex["azureactivedirectoryobjectid"],
        )
    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("entity_set", "state"), [("tasks", (1, 5)), ("li_inmails", (1, 2)), ("li_messages", (1, 2))]
)
def test_a_closed_activity_is_created_in_one_change_set(
    crm, emulator_clean, contact_id, entity_set, state
):
    kind = entity_set[:-1]
    activity_id = str(uuid.uuid4())
    body = {
        "subject": "InMail: Following up",
        f"regardingobjectid_contact_{kind}@odata.bind": f"/contacts({contact_id})",
    }
    crm.stats.reset()
    assert (
        crm.create_closed_activity(entity_set, body, row_id=activity_id, state=state) == activity_id
    )
    stored = emulator_clean.row(entity_set, activity_id)
    assert (stored["statecode"], stored["statuscode"]) == state
    assert crm.stats.requests == 1
    with pytest.raises(ValidationFailed, match="Closed or Cancelled"):
        crm.update(entity_set, activity_id, {"subject": "changed"})


def test_a_failing_change_set_leaves_nothing_behind(crm, emulator_clean):
    activity_id = str(uuid.uuid4())
    with pytest.raises(ValidationFailed):
        crm.create_closed_activity(
            "tasks",
            {"subject": "ok"},
            row_id=activity_id,
            state=(1, 99),  # no such status
        )
    assert emulator_clean.row("tasks", activity_id) is None


def test_a_batch_of_1000_with_continue_on_error(crm, emulator_clean):
    ids = [str(uuid.uuid4()) for _ in range(1000)]
    operations = [
        Operation.create("tasks", {"subject": "x" * 300 if n % 100 == 7 else f"batch {n}"}, row_id)
        for n, row_id in enumerate(ids)
    ]
    before = emulator_clean.counts()["tasks"]
    crm.stats.reset()
    results = crm.batch(operations)
    assert len(results) == 1000
    assert crm.stats.requests == 1
    failed = [n for n, result in enumerate(results) if not result.ok]
    assert failed == list(range(7, 1000, 100))
    assert all(isinstance(results[n].error, ValidationFailed) for n in failed)
    assert all(result.row_id == row_id for result, row_id in zip(results, ids, strict=True))
    assert emulator_clean.counts()["tasks"] == before + 990


def test_a_batch_stops_at_the_first_failure_without_continue_on_error(crm, emulator_clean):
    ids = [str(uuid.uuid4()) for _ in range(3)]
    operations = [
        Operation.create("tasks", {"subject": "first"}, ids[0]),
        Operation.create("tasks", {"subject": "x" * 300}, ids[1]),
        Operation.create("tasks", {"subject": "third"}, ids[2]),
    ]
    results = crm.batch(operations, continue_on_error=False)
    assert [result.status for result in results] == [204, 400, None]
    assert emulator_clean.row("tasks", ids[0]) is not None
    assert emulator_clean.row("tasks", ids[2]) is None


def test_a_batch_with_change_sets_and_reads(crm, emulator_clean):
    account_id, contact_id = str(uuid.uuid4()), str(uuid.uuid4())
    results = crm.batch(
        [
            ChangeSet(
                [
                    Operation("POST", "accounts", {"name": "Batch Co"}, content_id="1"),
                    Operation(
                        "POST",
                        "contacts",
                        {"lastname": "Batch", "parentcustomerid_account@odata.bind": "$1"},
                    ),
                ]
            ),
            Operation.create("accounts", {"name": "Second Co"}, account_id),
            Operation.get("accounts", account_id, query="$select=name"),
            ChangeSet(
                [
                    Operation.create("contacts", {"lastname": "Rolled back"}, contact_id),
                    Operation.create("tasks", {"subject": "x" * 300}),
                ]
            ),
        ]
    )
    assert [result.ok for result in results] == [True, True, True, True, False, False]
    created_account = results[0].row_id
    contact = emulator_clean.row("contacts", results[1].row_id)
    assert contact["_parentcustomerid_value"] == created_account
    assert results[3].body["name"] == "Second Co"
    assert emulator_clean.row("contacts", contact_id) is None  # the change set rolled back


def test_a_batch_over_1000_operations_is_split(crm, emulator_clean):
    before = emulator_clean.counts()["annotations"]
    crm.stats.reset()
    results = crm.batch(
        [
            Operation.create("annotations", {"subject": f"n{n}"}, str(uuid.uuid4()))
            for n in range(1200)
        ]
    )
    assert all(result.ok for result in results)
    assert crm.stats.requests == 2
    assert emulator_clean.counts()["annotations"] == before + 1200


def test_a_batch_can_impersonate(crm, emulator_clean):
    alex = emulator_clean.user(ALEX)
    task_id = str(uuid.uuid4())
    (result,) = crm.batch(
        [Operation.create("tasks", {"subject": "batched for Alex"}, task_id)],
        caller_object_id=alex["azureactivedirectoryobjectid"],
    )
    assert result.ok
    assert emulator_clean.row("tasks", task_id)["_createdby_value"] == alex["systemuserid"]
