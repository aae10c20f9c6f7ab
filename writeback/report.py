"""Resolving the LinkedIn unresolved task report's items: finding their CRM record, closing them.

An item whose member (or company) matched nothing in the CRM was written as an open activity
regarding nobody: an "Unassigned InMail or Message Task" (seed guide). Resolving it re-points the
activity to a contact, lead or account and closes it, in one change set, and remembers the choice
(``RecordMatch``) so the member's next items are written closed on the same record.

The seat holder finds the record one of three ways ("seat holders may be asked to manually
create a record in your CRM"):

- a suggestion, ranked: the portal's own match (chosen before, or made by the import since),
  then the same email (contacts before leads), the same name and company, the same name;
- a search of the CRM's contacts, leads and accounts by name or email;
- *Create record in CRM*: a contact or lead built from the member's details (an account for a
  company), created in the same change set that resolves the item, with an id derived from the
  item so that sending the form twice cannot create two.

Each look at the CRM is one ``$batch`` request, made as the connecting user; writes go out as the
item's seat holder where the connection may act on their behalf (``writeback.owners``). Failures
come back as the guide's messages: in ``CrmAnswer.error``, or as a ``ValidationError``.
"""

import uuid
from dataclasses import dataclass, field, replace

from django.core.exceptions import ValidationError
from django.db.models import Q

from crm_settings.crm import open_client
from crm_settings.messages import AdminMessage, admin_message_for
from crm_settings.models import CrmConnection
from dynamics import (
    ChangeSet,
    DuplicateRecord,
    DynamicsClient,
    DynamicsError,
    Operation,
    OperationResult,
    ValidationFailed,
)
from dynamics.odata import build_query, literal
from network.models import Member
from network.normalize import normalize_company
from seats.models import Seat
from writeback.activities import (
    CrmRecord,
    activity_read,
    activity_repoint_and_close,
    activity_state,
    activity_table_get,
    first_error,
)
from writeback.matching import matches_find
from writeback.models import (
    ACTIVITY_ID_NAMESPACE,
    OutboxEntry,
    OutboxState,
    RecordType,
)
from writeback.outbox import outbox_mark_closed, outbox_resolve
from writeback.owners import Writer, seat_writers_get

SEARCH_MIN_LENGTH = 2
MAX_CANDIDATES = 10
NOT_CONNECTED = AdminMessage(
    "Your contract is not connected to a CRM.", "Ask your admin to connect it on CRM Settings."
)
NO_LONGER_OPEN = "This item is no longer waiting in the unresolved-task report."

# What each table's rows say about the record, for the choice the seat holder makes.
_COLUMNS = {
    RecordType.CONTACT: ("contactid", ["fullname", "emailaddress1", "jobtitle"]),
    RecordType.LEAD: ("leadid", ["fullname", "emailaddress1", "companyname"]),
    RecordType.ACCOUNT: ("accountid", ["name", "websiteurl"]),
}
_ENTITY_SETS = {
    "contacts": RecordType.CONTACT,
    "leads": RecordType.LEAD,
    "accounts": RecordType.ACCOUNT,
}


@dataclass(frozen=True)
class Candidate:
    """A CRM record the item could regard, and why it is offered."""

    record: CrmRecord
    email: str = ""
    company: str = ""
    why: str = ""


@dataclass
class CrmAnswer:
    """What a look at the CRM found. ``resolved``: the activity was closed in the CRM meanwhile
    (the item has left the report)."""

    candidates: list[Candidate] = field(default_factory=list)
    error: AdminMessage | None = None
    resolved: bool = False


def _connection(entry: OutboxEntry) -> CrmConnection | None:
    return CrmConnection.objects.filter(contract_id=entry.contract_id).first()


def _get(entity_set: str, *, filter: str, top: int = 20) -> Operation:
    record_type = _ENTITY_SETS[entity_set]
    key, columns = _COLUMNS[record_type]
    options = {"select": [key, *columns], "filter": filter, "top": top}
    if record_type == RecordType.CONTACT:
        options["expand"] = "parentcustomerid_account($select=name)"
    return Operation.get(entity_set, query=build_query(**options))


def _candidate(entity_set: str, row: dict) -> Candidate:
    record_type = _ENTITY_SETS[entity_set]
    key, _ = _COLUMNS[record_type]
    name = row.get("fullname") or row.get("name") or ""
    company = row.get("companyname") or (row.get("parentcustomerid_account") or {}).get("name")
    return Candidate(
        record=CrmRecord(type=record_type, id=uuid.UUID(row[key]), name=name),
        email=row.get("emailaddress1") or row.get("websiteurl") or "",
        company=company or "",
    )


def _suggestion_reads(about) -> list[Operation]:
    """The GETs that find records like the member (or company) the item is about."""
    if isinstance(about, Member):
        reads = []
        if about.email:
            same_email = f"statecode eq 0 and emailaddress1 eq {literal(about.email)}"
            reads += [_get("contacts", filter=same_email), _get("leads", filter=same_email)]
        same_name = (
            f"statecode eq 0 and firstname eq {literal(about.first_name)} "
            f"and lastname eq {literal(about.last_name)}"
        )
        return reads + [_get("contacts", filter=same_name), _get("leads", filter=same_name)]
    reads = [_get("accounts", filter=f"contains(name,{literal(about.name)})")]
    if about.domain:
        reads.append(_get("accounts", filter=f"contains(websiteurl,{literal(about.domain)})"))
    return reads


def _rank(about, candidate: Candidate) -> tuple[int, str]:
    """(rank, why): lower ranks first."""
    if isinstance(about, Member):
        if about.email and candidate.email.lower() == about.email:
            return (1 if candidate.record.type == RecordType.CONTACT else 2), "Same email"
        company = about.company.name if about.company else about.company_name
        if company and normalize_company(candidate.company) == normalize_company(company):
            return 3, "Same name and company"
        return 4, "Same name"
    if about.domain and about.domain in candidate.email.lower():
        return 1, "Same website"
    return 2, "Similar name"


def _ranked(about, found: list[tuple[str, dict]], known: CrmRecord | None) -> list[Candidate]:
    best: dict[tuple, tuple[int, Candidate]] = {}
    if known is not None:
        best[(known.type, known.id)] = (0, Candidate(record=known, why="Matched in the portal"))
    for entity_set, row in found:
        candidate = _candidate(entity_set, row)
        rank, why = _rank(about, candidate)
        key = (candidate.record.type, candidate.record.id)
        if key in best and best[key][0] <= rank:
            # Found twice (or matched in the portal): the better reason, the row's details.
            rank, why = best[key][0], best[key][1].why
        best[key] = (rank, replace(candidate, why=why))
    ordered = sorted(best.values(), key=lambda pair: (pair[0], pair[1].record.name))
    return [candidate for _, candidate in ordered][:MAX_CANDIDATES]


def _record_crm_state(entry: OutboxEntry, row: dict) -> bool:
    """Update the entry from its activity as read; True when it is no longer open."""
    state = activity_state(row)
    if state.open:
        return False
    outbox_mark_closed(entry=entry, regarding=state.regarding)
    return True


def unresolved_suggest(*, entry: OutboxEntry) -> CrmAnswer:
    """Ranked records for the item's member or company, and whether it is still open in the CRM.

    ``entry`` needs its item's member or company selected (``unresolved_list`` does).
    """
    connection = _connection(entry)
    if connection is None:
        return CrmAnswer(error=NOT_CONNECTED)
    about = entry.about
    reads = [activity_read(table=activity_table_get(entry=entry), activity_id=entry.activity_id)]
    reads += _suggestion_reads(about)
    try:
        with open_client(connection, interactive=True) as client:
            results = client.batch(reads)
    except DynamicsError as error:
        return CrmAnswer(error=admin_message_for(error))
    failed = next((result.error for result in results if not result.ok), None)
    if failed is not None:
        return CrmAnswer(error=admin_message_for(failed))
    if _record_crm_state(entry, results[0].body):
        return CrmAnswer(resolved=True)
    found = [
        (read.entity_set, row)
        for read, result in zip(reads[1:], results[1:], strict=True)
        for row in result.body.get("value", [])
    ]
    known = matches_find(contract_id=entry.contract_id, entries=[entry], lookup=None)[entry.pk]
    return CrmAnswer(candidates=_ranked(about, found, known))


def unresolved_search(*, entry: OutboxEntry, query: str) -> CrmAnswer:
    """Contacts, leads and accounts whose name (or email) contains ``query``."""
    query = " ".join(query.split())
    if len(query) < SEARCH_MIN_LENGTH:
        return CrmAnswer()
    connection = _connection(entry)
    if connection is None:
        return CrmAnswer(error=NOT_CONNECTED)
    text = literal(query)
    person = f"contains(fullname,{text}) or contains(emailaddress1,{text})"
    reads = [
        _get("contacts", filter=person, top=MAX_CANDIDATES),
        _get("leads", filter=f"{person} or contains(companyname,{text})", top=MAX_CANDIDATES),
        _get("accounts", filter=f"contains(name,{text})", top=MAX_CANDIDATES),
    ]
    try:
        with open_client(connection, interactive=True) as client:
            results = client.batch(reads)
    except DynamicsError as error:
        return CrmAnswer(error=admin_message_for(error))
    candidates = []
    for read, result in zip(reads, results, strict=True):
        if not result.ok:
            return CrmAnswer(error=admin_message_for(result.error))
        candidates += [_candidate(read.entity_set, row) for row in result.body.get("value", [])]
    return CrmAnswer(candidates=candidates)


def _refusal(message: AdminMessage) -> ValidationError:
    return ValidationError(f"{message.message} {message.next_step}")


def _existed(results: list[OperationResult]) -> bool:
    """Whether the first operation, a create with our id, found its record already there."""
    return results[0].already_existed or isinstance(results[0].error, DuplicateRecord)


def _write(
    client: DynamicsClient,
    *,
    entry: OutboxEntry,
    record: CrmRecord,
    create: Operation | None,
    caller: str | None,
) -> None:
    """Steps 2 and 3 of ``_resolve``; raises what the CRM refused."""
    table = activity_table_get(entry=entry)
    operations = activity_repoint_and_close(
        table=table, activity_id=entry.activity_id, record=record
    )
    results = client.batch(
        [ChangeSet([create, *operations] if create else operations)], caller_object_id=caller
    )
    if create is not None and _existed(results):
        # An earlier try created the record, and its answer was lost: resolve with it alone.
        results = client.batch([ChangeSet(operations)], caller_object_id=caller)
    error = first_error(results)
    if isinstance(error, ValidationFailed):
        (read,) = client.batch([activity_read(table=table, activity_id=entry.activity_id)])
        if read.ok and _record_crm_state(entry, read.body):
            regarding = activity_state(read.body).regarding
            if regarding is not None and regarding.id == record.id:
                return
            raise ValidationError(
                "This activity was closed in your CRM meanwhile, so it has left the report."
            )
    if error is not None:
        raise _refusal(admin_message_for(error))


@dataclass(frozen=True)
class Resolution:
    """What resolving an item did: the record it now regards, and the other open items about the
    same member or company that were closed on it too (``others_closed``) or could not be now
    (``others_left``: they stay in the report)."""

    record: CrmRecord
    others_closed: int = 0
    others_left: int = 0


def unresolved_others(*, entry: OutboxEntry, seat: Seat):
    """The other open items about the entry's member or company that ``seat`` may resolve: its
    own, or (admins) every one of the contract's. Resolving the entry closes them too."""
    about = entry.about
    if isinstance(about, Member):
        same = Q(message__thread__member=about) | Q(note__member=about)
    else:
        same = Q(note__company=about)
    others = OutboxEntry.objects.filter(
        same, contract_id=entry.contract_id, state=OutboxState.SENT, written_open=True
    ).exclude(pk=entry.pk)
    if not seat.is_admin:
        others = others.filter(seat=seat)
    return others


def _close_others(
    *, connection: CrmConnection, entry: OutboxEntry, record: CrmRecord, by: Seat
) -> tuple[int, int]:
    """Close the other open items about the entry's member or company on ``record`` (one
    ``$batch`` per seat holder, each item its own change set, as that seat holder where the
    connection may act for them). Returns (closed, left open)."""
    others = list(unresolved_others(entry=entry, seat=by).select_related("message__thread"))
    if not others:
        return 0, 0
    writers = seat_writers_get(connection=connection, seat_ids=[o.seat_id for o in others])
    closed = 0
    with open_client(connection, interactive=True) as client:
        for seat_id in sorted(writers):
            group = [other for other in others if other.seat_id == seat_id]
            writer = writers[seat_id]
            caller = writer.caller_object_id if isinstance(writer, Writer) else None
            change_sets = [
                ChangeSet(
                    activity_repoint_and_close(
                        table=activity_table_get(entry=other),
                        activity_id=other.activity_id,
                        record=record,
                    )
                )
                for other in group
            ]
            try:
                results = client.batch(change_sets, caller_object_id=caller)
            except DynamicsError:
                # The item asked for is resolved; these stay in the report, one by one.
                continue
            for number, other in enumerate(group):
                if first_error(results[2 * number : 2 * number + 2]) is None:
                    closed += outbox_mark_closed(entry=other, regarding=record)
    return closed, len(others) - closed


def _resolve(
    *, entry: OutboxEntry, record: CrmRecord, by: Seat, create: Operation | None = None
) -> Resolution:
    """Re-point the item's activity to ``record`` and close it (after creating the record, when
    ``create`` is given), in one change set; then record the match, and close the other open
    items about the same member or company on it too.

    1. Refuse an item that left the report meanwhile.
    2. Send the change set, as the seat holder where the connection may act for them. A record
       an earlier try already created is used as it is.
    3. If the CRM refuses because the activity is closed already (resolved in Dynamics, or an
       earlier try whose answer was lost), read it back: closed on ``record`` counts as done;
       closed on something else takes the item out of the report, and says so.
    4. Mark the entry closed on ``record`` and remember the choice for the member or company.
    5. Close the member's (or company's) other open items that ``by`` may resolve on the same
       record: they are about the same person, who is now in the CRM. One that fails stays in
       the report, and the result says how many.
    """
    entry = unresolved_refresh(entry=entry)
    connection = _connection(entry)
    if connection is None:
        raise _refusal(NOT_CONNECTED)
    writer = seat_writers_get(connection=connection, seat_ids=[entry.seat_id])[entry.seat_id]
    caller = writer.caller_object_id if isinstance(writer, Writer) else None
    try:
        with open_client(connection, interactive=True) as client:
            _write(client, entry=entry, record=record, create=create, caller=caller)
    except DynamicsError as error:
        raise _refusal(admin_message_for(error)) from error
    outbox_resolve(entry=entry, record=record, by=by)
    closed, left = _close_others(connection=connection, entry=entry, record=record, by=by)
    return Resolution(record=record, others_closed=closed, others_left=left)


def unresolved_refresh(*, entry: OutboxEntry) -> OutboxEntry:
    """The entry as it is now, if it is still in the report; else a ValidationError."""
    current = (
        OutboxEntry.objects.filter(pk=entry.pk, state=OutboxState.SENT, written_open=True)
        .select_related(
            "message__thread__member__company", "note__member__company", "note__company"
        )
        .first()
    )
    if current is None:
        raise ValidationError(NO_LONGER_OPEN)
    return current


def unresolved_resolve(*, entry: OutboxEntry, record: CrmRecord, by: Seat) -> Resolution:
    """Resolve an item with a record picked from the suggestions or the search."""
    return _resolve(entry=entry, record=record, by=by)


def record_id_derive(*, entry: OutboxEntry, record_type: str) -> uuid.UUID:
    """The id of the record *Create record in CRM* makes for an item: the same on every try."""
    return uuid.uuid5(ACTIVITY_ID_NAMESPACE, f"record:{entry.activity_id}:{record_type}")


def _record_body(record_type: str, values: dict, owner_id: uuid.UUID | None) -> dict:
    if record_type == RecordType.ACCOUNT:
        body = {"name": values["name"], "websiteurl": values.get("website", "")}
    else:
        body = {
            "firstname": values["first_name"],
            "lastname": values["last_name"],
            "emailaddress1": values.get("email", ""),
            "jobtitle": values.get("job_title", ""),
        }
        if record_type == RecordType.LEAD:
            body["companyname"] = values.get("company_name", "")
            body["subject"] = f"LinkedIn: {values['first_name']} {values['last_name']}".strip()
    if owner_id:
        body["ownerid@odata.bind"] = f"/systemusers({owner_id})"
    return body


def unresolved_create_record(
    *, entry: OutboxEntry, record_type: str, values: dict, by: Seat
) -> Resolution:
    """*Create record in CRM*: a contact, lead or account from ``values``, owned by the item's
    seat holder, and the item resolved with it, all or nothing.

    ``values``: ``first_name``, ``last_name``, ``email``, ``job_title`` and (leads)
    ``company_name``; for an account ``name`` and ``website``.
    """
    connection = _connection(entry)
    writers = (
        seat_writers_get(connection=connection, seat_ids=[entry.seat_id]) if connection else {}
    )
    writer = writers.get(entry.seat_id)
    owner_id = writer.owner_id if isinstance(writer, Writer) else None
    record_id = record_id_derive(entry=entry, record_type=record_type)
    name = values.get("name") or f"{values.get('first_name', '')} {values['last_name']}".strip()
    record = CrmRecord(type=record_type, id=record_id, name=name)
    create = Operation.create(
        record.entity_set, _record_body(record_type, values, owner_id), row_id=str(record_id)
    )
    return _resolve(entry=entry, record=record, by=by, create=create)
