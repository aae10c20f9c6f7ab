"""Which CRM record an item regards: the match that decides between closed and open.

A member (the person of an InMail, a message, or a note on a lead) matches, first hit wins:

1. the record a seat holder chose for them in the unresolved-task report (``RecordMatch``);
2. the import's match: a mirrored contact whose ``member`` is them (best match method first:
   email, then profile URL, then name and company);
3. a live lookup of their email in the CRM: an active contact, else an open lead.

A company (a note on an account) matches the record chosen for it, else a mirrored account
matched to it. There is no live lookup for companies: a company name is not an identity (the
import's rule), and companies have no email.

Cost for a whole claim: one query per kind, and the live lookups in one ``$batch`` of GETs (per
50 emails one ``$filter`` of ``or``-ed emails on contacts and one on leads). ``LiveLookup``
remembers each answer for its drain run, so an email is asked once per run, not once per batch.
"""

import uuid
from collections.abc import Collection, Iterable

from django.db.models import Q

from dynamics import DynamicsClient, Operation
from dynamics.odata import build_query, literal
from sync.models import CrmAccount, CrmContact
from writeback.activities import CrmRecord
from writeback.models import OutboxEntry, RecordMatch, RecordType

EMAILS_PER_FILTER = 50
# The import's match methods, most trustworthy first; other values rank after these.
_METHOD_RANK = {"email": 0, "profile_url": 1, "name_company": 2}


def _member_id(entry: OutboxEntry) -> int | None:
    return entry.message.thread.member_id if entry.message_id else entry.note.member_id


def _member_email(entry: OutboxEntry) -> str:
    member = entry.message.thread.member if entry.message_id else entry.note.member
    return member.email.lower() if member else ""


def _company_id(entry: OutboxEntry) -> int | None:
    return entry.note.company_id if entry.note_id else None


class LiveLookup:
    """Members' emails looked up in the CRM, each asked once for the life of this object."""

    def __init__(self, client: DynamicsClient):
        self._client = client
        self._answers: dict[str, CrmRecord | None] = {}

    def find(self, emails: Collection[str]) -> dict[str, CrmRecord | None]:
        """The record for each email (or None), asking the CRM only about new ones.

        Raises the ``DynamicsError`` of a lookup that failed.
        """
        asking = sorted({email for email in emails if email and email not in self._answers})
        if asking:
            self._answers |= self._ask(asking)
        return {email: self._answers.get(email) for email in emails}

    def _ask(self, emails: list[str]) -> dict[str, CrmRecord | None]:
        operations = []
        for start in range(0, len(emails), EMAILS_PER_FILTER):
            chunk = emails[start : start + EMAILS_PER_FILTER]
            anyone = " or ".join(f"emailaddress1 eq {literal(email)}" for email in chunk)
            for entity_set, key in (("contacts", "contactid"), ("leads", "leadid")):
                query = build_query(
                    select=[key, "fullname", "emailaddress1"],
                    filter=f"statecode eq 0 and ({anyone})",
                    orderby="createdon",
                )
                operations.append(Operation.get(entity_set, query=query))
        found: dict[str, CrmRecord | None] = dict.fromkeys(emails)
        for operation, result in zip(operations, self._client.batch(operations), strict=True):
            if not result.ok:
                raise result.error
            is_contact = operation.entity_set == "contacts"
            record_type = RecordType.CONTACT if is_contact else RecordType.LEAD
            key = "contactid" if is_contact else "leadid"
            for row in result.body.get("value", []):
                email = (row.get("emailaddress1") or "").lower()
                # Contacts come before leads, and older rows first: the first one found stays.
                if email in found and found[email] is None:
                    found[email] = CrmRecord(
                        type=record_type, id=uuid.UUID(row[key]), name=row.get("fullname") or ""
                    )
        return found


def _chosen(contract_id: int, member_ids: set, company_ids: set) -> tuple[dict, dict]:
    """Records chosen in the report, by member id and by company id (one query)."""
    by_member, by_company = {}, {}
    if not member_ids and not company_ids:
        return by_member, by_company
    chosen = RecordMatch.objects.filter(contract_id=contract_id).filter(
        Q(member_id__in=member_ids) | Q(company_id__in=company_ids)
    )
    for match in chosen:
        record = CrmRecord(type=match.record_type, id=match.record_id, name=match.record_name)
        if match.member_id:
            by_member[match.member_id] = record
        else:
            by_company[match.company_id] = record
    return by_member, by_company


def _mirrored_contacts(contract_id: int, member_ids: set) -> dict[int, CrmRecord]:
    """The import's best contact for each member (one query)."""
    if not member_ids:
        return {}
    contacts = CrmContact.objects.filter(contract_id=contract_id, member_id__in=member_ids)
    best: dict[int, tuple] = {}
    for contact in contacts.only("member_id", "crm_id", "full_name", "match_method"):
        # Ties (two contacts matched the same way) go to the lowest id: the same every time.
        rank = (_METHOD_RANK.get(contact.match_method, len(_METHOD_RANK)), str(contact.crm_id))
        if contact.member_id not in best or rank < best[contact.member_id][0]:
            record = CrmRecord(type=RecordType.CONTACT, id=contact.crm_id, name=contact.full_name)
            best[contact.member_id] = (rank, record)
    return {member_id: record for member_id, (_, record) in best.items()}


def _mirrored_accounts(contract_id: int, company_ids: set) -> dict[int, CrmRecord]:
    """The import's account for each company, the oldest when several match (one query)."""
    if not company_ids:
        return {}
    found: dict[int, CrmRecord] = {}
    accounts = CrmAccount.objects.filter(contract_id=contract_id, company_id__in=company_ids)
    for account in accounts.order_by("pk").only("company_id", "crm_id", "name"):
        found.setdefault(
            account.company_id,
            CrmRecord(type=RecordType.ACCOUNT, id=account.crm_id, name=account.name),
        )
    return found


def matches_find(
    *, contract_id: int, entries: Iterable[OutboxEntry], lookup: LiveLookup | None
) -> dict[int, CrmRecord | None]:
    """The record each entry's item regards, or None, by entry id.

    The entries need their item's member or company selected (``outbox_claim_due`` does).
    Without ``lookup`` only the portal's own knowledge is used (no CRM request).
    """
    entries = list(entries)
    member_ids = {_member_id(e) for e in entries} - {None}
    company_ids = {_company_id(e) for e in entries} - {None}
    by_member, by_company = _chosen(contract_id, member_ids, company_ids)
    by_member = _mirrored_contacts(contract_id, member_ids - set(by_member)) | by_member
    by_company = _mirrored_accounts(contract_id, company_ids - set(by_company)) | by_company
    by_email: dict[str, CrmRecord | None] = {}
    if lookup is not None:
        emails = {_member_email(e) for e in entries if _member_id(e) not in by_member}
        by_email = lookup.find(emails - {""})
    matches = {}
    for entry in entries:
        member_id = _member_id(entry)
        if member_id is not None:
            matches[entry.pk] = by_member.get(member_id) or by_email.get(_member_email(entry))
        else:
            matches[entry.pk] = by_company.get(_company_id(entry))
    return matches
