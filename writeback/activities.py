"""Where each item lands in Dynamics, and the requests that write, close and re-point it.

| item | table (entity set) | closed as (statecode, statuscode) |
|---|---|---|
| InMail | ``li_inmail`` (``li_inmails``) | 1 Completed, 2 Completed |
| message | ``li_message`` (``li_messages``) | 1 Completed, 2 Completed |
| note | ``task`` (``tasks``) | 1 Completed, 5 Completed |
| follow-up task | ``task`` (``tasks``) | never: written open, on its contact |

InMails and messages go to the activity tables of the LinkedIn Sales Navigator solution; notes to
tasks, which every org has and which, unlike Dynamics' own notes (``annotation``), are activities
with an open state (see ``writeback.models``). An activity regards a record through the
single-valued navigation property ``regardingobjectid_<record type>_<table>`` (research §4, §8).

Dataverse ignores a closed state in a create body, so a closed activity is a change set of two
requests, the create and then the state change: both happen or neither does. Everything here
builds requests or reads answers; nothing sends them.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from crm_settings.models import WritebackType
from dynamics import ChangeSet, DynamicsError, Operation, OperationResult, RolledBack
from writeback.content import ActivityContent, follow_up_content, message_content, note_content
from writeback.models import FOLLOW_UP, OutboxEntry, RecordType

_ENTITY_SETS = {
    RecordType.CONTACT: "contacts",
    RecordType.LEAD: "leads",
    RecordType.ACCOUNT: "accounts",
}


@dataclass(frozen=True)
class CrmRecord:
    """A contact, lead or account in the CRM: what an activity can regard."""

    type: str
    id: uuid.UUID
    name: str = ""

    @property
    def entity_set(self) -> str:
        return _ENTITY_SETS[self.type]

    @property
    def bind(self) -> str:
        """The value of an ``@odata.bind`` that points at this record."""
        return f"/{self.entity_set}({self.id})"


@dataclass(frozen=True)
class ActivityTable:
    logical_name: str
    entity_set: str
    closed: tuple[int, int]

    def regarding(self, record: CrmRecord) -> dict:
        """The body fragment that makes an activity of this table regard ``record``."""
        return {f"regardingobjectid_{record.type}_{self.logical_name}@odata.bind": record.bind}

    def close(self) -> dict:
        statecode, statuscode = self.closed
        return {"statecode": statecode, "statuscode": statuscode}


TABLES = {
    WritebackType.INMAIL: ActivityTable("li_inmail", "li_inmails", (1, 2)),
    WritebackType.MESSAGE: ActivityTable("li_message", "li_messages", (1, 2)),
    WritebackType.NOTE: ActivityTable("task", "tasks", (1, 5)),
    FOLLOW_UP: ActivityTable("task", "tasks", (1, 5)),
}
# The item types whose tables exist only where the LinkedIn solution is installed.
LINKEDIN_TYPES = frozenset({WritebackType.INMAIL.value, WritebackType.MESSAGE.value})


def activity_table_get(*, entry: OutboxEntry) -> ActivityTable:
    """The table the entry's activity is written to."""
    return TABLES[entry.item_type]


def _content_and_time(entry: OutboxEntry) -> tuple[ActivityContent, datetime]:
    if entry.message_id:
        return message_content(entry.message), entry.message.sent_at
    return note_content(entry.note), entry.note.created_at


def follow_up_record(entry: OutboxEntry) -> CrmRecord:
    """The contact a follow-up task regards (chosen when it was asked for: no matching)."""
    follow_up = entry.follow_up
    return CrmRecord(
        type=RecordType.CONTACT, id=follow_up.contact_crm_id, name=follow_up.contact_name
    )


def _follow_up_body(entry: OutboxEntry, owner_id: uuid.UUID | None) -> dict:
    """An open task: a to-do for its owner, with no actual start or end yet."""
    content = follow_up_content(entry.follow_up)
    body = {"subject": content.subject, "description": content.description}
    if owner_id:
        body["ownerid@odata.bind"] = f"/systemusers({owner_id})"
    return body | activity_table_get(entry=entry).regarding(follow_up_record(entry))


def activity_body(
    *, entry: OutboxEntry, owner_id: uuid.UUID | None, record: CrmRecord | None
) -> dict:
    """The activity's columns: content, when it happened, its owner and what it regards."""
    if entry.follow_up_id:
        return _follow_up_body(entry, owner_id)
    content, happened_at = _content_and_time(entry)
    # Whole seconds in UTC, the form Microsoft's examples use for date-time columns.
    when = happened_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "subject": content.subject,
        "description": content.description,
        "actualstart": when,
        "actualend": when,
    }
    if owner_id:
        body["ownerid@odata.bind"] = f"/systemusers({owner_id})"
    if record:
        body |= activity_table_get(entry=entry).regarding(record)
    return body


def activity_create(
    *, entry: OutboxEntry, owner_id: uuid.UUID | None, record: CrmRecord | None
) -> Operation | ChangeSet:
    """Create the entry's activity with its own id: closed on ``record``, or open without one
    (a follow-up task: open, on its contact).

    The create is a create-only upsert (``If-None-Match: *``): when the activity already exists
    it answers 412 and changes nothing.
    """
    table = activity_table_get(entry=entry)
    activity_id = str(entry.activity_id)
    create = Operation.create(
        table.entity_set,
        activity_body(entry=entry, owner_id=owner_id, record=record),
        row_id=activity_id,
    )
    if record is None or entry.follow_up_id:
        return create
    return ChangeSet([create, Operation.update(table.entity_set, activity_id, table.close())])


def activity_repoint_and_close(
    *, table: ActivityTable, activity_id: uuid.UUID, record: CrmRecord
) -> list:
    """Make an open activity regard ``record``, then close it: the operations of one change set.

    A list, so a caller can put a record's create in front of them in the same change set.
    """
    row_id = str(activity_id)
    return [
        Operation.update(table.entity_set, row_id, table.regarding(record)),
        Operation.update(table.entity_set, row_id, table.close()),
    ]


# Reading an activity back: its state, and what it regards with the record's table.
_STATE_QUERY = "$select=statecode,_regardingobjectid_value"
_LOOKUP_TYPES = {"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'}


def activity_read(*, table: ActivityTable, activity_id: uuid.UUID) -> Operation:
    return Operation.get(
        table.entity_set, str(activity_id), query=_STATE_QUERY, headers=dict(_LOOKUP_TYPES)
    )


@dataclass(frozen=True)
class ActivityState:
    """An activity as the CRM holds it: open or not, and the record it regards (if any)."""

    open: bool
    regarding: CrmRecord | None


def activity_state(row: dict) -> ActivityState:
    """The state of an activity from a row ``activity_read`` fetched."""
    regarding_id = row.get("_regardingobjectid_value")
    regarding_type = row.get("_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname")
    regarding = None
    # An activity can regard other tables (opportunities...); only ours are records here.
    if regarding_id and regarding_type in _ENTITY_SETS:
        regarding = CrmRecord(type=regarding_type, id=uuid.UUID(regarding_id))
    return ActivityState(open=row.get("statecode") == 0, regarding=regarding)


def first_error(results: list[OperationResult]) -> DynamicsError | None:
    """The error to report for a change set: the operation that failed, not those rolled back."""
    errors = [result.error for result in results if result.error]
    if not errors:
        return None
    return next((e for e in errors if not isinstance(e, RolledBack)), errors[0])
