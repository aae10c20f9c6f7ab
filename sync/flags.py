"""Data validation: CRM contacts whose data looks stale against the prospecting network.

Three rules, one home (``contact_flags``), each with its reason in words:

- **Not at company** (the real product's flag): the contact's matched member works at another
  company now than the contact's account (by the network company both matched, else by the
  normalised company names);
- **Email domain differs from website**: the contact's email is at a domain that is neither the
  account's website domain nor a subdomain of it (or the other way round);
- **No current position**: the matched member lists no current company at all.

The import recomputes them at the end of each run (``flags_refresh``), never a page view, and
incrementally: only the contracts' contacts whose inputs the run may have changed are checked:

1. the contacts this run (or a failed run since the last success) wrote (``seen_in_run``);
2. the contacts of accounts it wrote, or whose network company changed since the last success;
3. the contacts whose network member changed since the last success (``Member.updated_at``,
   which also covers members the run's re-match found);
4. the contacts holding a member's flag whose member is gone, or any flag whose account is.

The first run checks every contact. A checked contact's flags are compared with the stored ones
by their inputs and words: only new, changed and gone flags are written, so an unchanged flag
keeps its ``updated_at`` and a *Dismiss* stays until the flagged data changes (``ContactFlag``).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from network.models import SavedLead
from network.normalize import normalize_company, normalize_domain
from seats.models import Seat, User
from sync.models import ContactFlag, CrmAccount, CrmContact, FlagReason, SyncRun

CHUNK = 2000
# Flags that need the contact's member: gone with it.
_MEMBER_REASONS = (FlagReason.NOT_AT_COMPANY, FlagReason.NO_POSITION)
_CONTACT_FIELDS = (
    "pk", "full_name", "email", "account_id", "member_id", "member__first_name",
    "member__last_name", "member__company_id", "member__company_name", "member__company__name",
)  # fmt: skip
_ACCOUNT_FIELDS = ("crm_id", "name", "domain", "name_key", "company_id", "company__name")


@dataclass(frozen=True)
class Flag:
    """What one rule found: the reason, in words, and the inputs it looked at."""

    reason: str
    detail: str
    inputs: str


def _domains_agree(email_domain: str, website_domain: str) -> bool:
    return (
        email_domain == website_domain
        or email_domain.endswith(f".{website_domain}")
        or website_domain.endswith(f".{email_domain}")
    )


def contact_flags(contact: dict, account: dict | None) -> list[Flag]:
    """The flags of one contact (``_CONTACT_FIELDS`` values) and its account (``_ACCOUNT_FIELDS``
    values, or None when it has none in the mirror)."""
    flags = []
    name = contact["full_name"] or "This contact"
    member_id = contact["member_id"]
    member = f"{contact['member__first_name']} {contact['member__last_name']}".strip()
    works_at = contact["member__company__name"] or contact["member__company_name"]
    if member_id is not None and not works_at:
        flags.append(
            Flag(
                FlagReason.NO_POSITION,
                f"{member} lists no current position in the network.",
                f"member {member_id}",
            )
        )
    if member_id is not None and works_at and account is not None:
        member_company = contact["member__company_id"]
        if member_company is not None and account["company_id"] is not None:
            differs = member_company != account["company_id"]
        else:
            member_key = normalize_company(works_at)
            differs = bool(member_key and account["name_key"]) and member_key != account["name_key"]
        if differs:
            flags.append(
                Flag(
                    FlagReason.NOT_AT_COMPANY,
                    f"{member} works at {works_at} now, according to the network, "
                    f"not at {account['name'] or 'the contact’s account'}.",
                    f"member {member_id} at {member_company or ''} {normalize_company(works_at)}"
                    f"; account {contact['account_id']} is {account['company_id'] or ''} "
                    f"{account['name_key']}",
                )
            )
    email_domain = normalize_domain(contact["email"])
    website = account["domain"] if account is not None else ""
    if email_domain and website and not _domains_agree(email_domain, website):
        flags.append(
            Flag(
                FlagReason.EMAIL_DOMAIN,
                f"{name}’s email address is at {email_domain}, but the website of "
                f"{account['name'] or 'the account'} is {website}.",
                f"email at {email_domain}; website {website}",
            )
        )
    return flags


def _candidates(run: SyncRun, previous: SyncRun | None):
    """The contract's contacts whose inputs may have changed since ``previous``, the last
    successful run (steps 1 to 4 of the module docstring); every contact when there is none."""
    contacts = CrmContact.objects.filter(contract_id=run.contract_id)
    if previous is None or previous.started_at is None:
        return contacts
    mark, since = previous.pk, previous.started_at
    accounts = CrmAccount.objects.filter(contract_id=run.contract_id)
    changed_accounts = accounts.filter(
        Q(seen_in_run__gt=mark) | Q(company__updated_at__gte=since)
    ).values("crm_id")
    flags = ContactFlag.objects.filter(contact=OuterRef("pk"))
    account_gone = ~Exists(accounts.filter(crm_id=OuterRef("account_id")))
    return contacts.filter(
        Q(seen_in_run__gt=mark)
        | Q(account_id__in=changed_accounts)
        | Q(member__updated_at__gte=since)
        | Q(Exists(flags.filter(reason__in=_MEMBER_REASONS)), member__isnull=True)
        | (Q(Exists(flags)) & account_gone)
    )


def _chunks(rows, size: int = CHUNK) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class FlagCounts:
    """What a refresh did: contacts checked, flags added, changed and removed."""

    checked: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0


def _refresh_chunk(contract_id: int, contacts: list[dict], counts: FlagCounts) -> None:
    """Steps for one chunk: its accounts and stored flags (2 queries), then one insert, one
    update and one delete at most."""
    account_ids = {c["account_id"] for c in contacts} - {None}
    accounts = {
        a["crm_id"]: a
        for a in CrmAccount.objects.filter(contract_id=contract_id, crm_id__in=account_ids)
        .values(*_ACCOUNT_FIELDS)
        .order_by()
    }
    stored = {
        (flag.contact_id, flag.reason): flag
        for flag in ContactFlag.objects.filter(contact_id__in=[c["pk"] for c in contacts])
        .only("contact_id", "reason", "detail", "inputs")
        .order_by()
    }
    now = timezone.now()
    new, changed = [], []
    for contact in contacts:
        for found in contact_flags(contact, accounts.get(contact["account_id"])):
            flag = stored.pop((contact["pk"], found.reason), None)
            if flag is None:
                new.append(
                    ContactFlag(
                        contract_id=contract_id,
                        contact_id=contact["pk"],
                        reason=found.reason,
                        detail=found.detail[:500],
                        inputs=found.inputs[:500],
                        updated_at=now,
                    )
                )
            elif (flag.inputs, flag.detail) != (found.inputs[:500], found.detail[:500]):
                flag.inputs, flag.detail = found.inputs[:500], found.detail[:500]
                flag.updated_at = now
                changed.append(flag)
    if new:
        ContactFlag.objects.bulk_create(new)
    if changed:
        ContactFlag.objects.bulk_update(changed, ["inputs", "detail", "updated_at"])
    if stored:
        ContactFlag.objects.filter(pk__in=[flag.pk for flag in stored.values()]).delete()
    counts.checked += len(contacts)
    counts.added += len(new)
    counts.changed += len(changed)
    counts.removed += len(stored)


def flags_refresh(*, run: SyncRun, previous: SyncRun | None) -> FlagCounts:
    """Recompute the flags of the contacts whose inputs ``run`` may have changed since
    ``previous``, the contract's last successful run (see the module docstring).

    The candidates' ids are read first, then a chunk of contacts at a time, each chunk written
    in its own transaction.
    """
    counts = FlagCounts()
    ids = list(_candidates(run, previous).order_by("pk").values_list("pk", flat=True))
    for chunk_ids in _chunks(ids):
        contacts = list(
            CrmContact.objects.filter(pk__in=chunk_ids).order_by("pk").values(*_CONTACT_FIELDS)
        )
        with transaction.atomic():
            _refresh_chunk(run.contract_id, contacts, counts)
    return counts


def flag_dismiss(*, flag: ContactFlag, by: User) -> bool:
    """*Dismiss*: hide the flag until the flagged data changes. False when the import changed
    the flag since the page showed it (the page then shows it again, as it is now)."""
    return bool(
        ContactFlag.objects.filter(pk=flag.pk, inputs=flag.inputs).update(
            dismissed_inputs=flag.inputs, dismissed_at=timezone.now(), dismissed_by=by
        )
    )


def flag_restore(*, flag: ContactFlag) -> None:
    """Undo a *Dismiss*: the flag shows again."""
    ContactFlag.objects.filter(pk=flag.pk).update(
        dismissed_inputs="", dismissed_at=None, dismissed_by=None
    )


# --- Whose flags: the seat holders whose Lead the contact is --------------------------------------


def flags_of_seat(seat: Seat) -> Q:
    """The flags of contacts whose member ``seat`` holds as a Lead (saved by hand or imported):
    the seat holder's own data, and the seats a follow-up task can be for."""
    leads = SavedLead.objects.filter(seat=seat, member_id=OuterRef("contact__member_id"))
    return Q(Exists(leads))


def contact_owner_seats(*, contact: CrmContact) -> list[Seat]:
    """The contract's seats holding the contact's member as a Lead, by email."""
    if contact.member_id is None:
        return []
    return list(
        Seat.objects.filter(
            contract_id=contact.contract_id,
            pk__in=SavedLead.objects.filter(member_id=contact.member_id).values("seat_id"),
        )
        .select_related("user")
        .order_by("user__email")
    )
