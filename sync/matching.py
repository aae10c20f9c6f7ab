"""Matching mirrored CRM contacts and accounts to the prospecting network, a page at a time.

Keys, in order (the first that finds someone wins, and the row remembers which one it was):

- contacts: ``email`` (the contact's email = the member's known email), then ``profile_url``
  (the admin's LinkedIn profile column on contact, when the org has one), then ``name_company``
  (normalised first + last name and the normalised name of the contact's account);
- accounts: ``domain`` (the website's host = the company's domain), then ``name`` (normalised).

An email or profile URL is an identity, so when two network rows share one the oldest wins. A
name is not: when a name key finds several network rows the CRM row stays unmatched rather than
being saved as the wrong person or company.

Each function takes a whole page and makes one query per key kind, whatever the page holds.
Unmatched rows are kept in the mirror (``match_method == ""``) and reported by the run and on the
records page; they are never dropped.
"""

from collections.abc import Iterable

from network.models import Company, Member
from network.normalize import normalize_company, normalize_domain, normalize_profile_url, person_key
from sync.models import CrmAccount, CrmContact


class MatchMethod:
    EMAIL = "email"
    PROFILE_URL = "profile_url"
    NAME_COMPANY = "name_company"
    DOMAIN = "domain"
    NAME = "name"
    NONE = ""


def _first_by_key(queryset, key_field: str, keys: set[str]) -> dict[str, int]:
    """{key: id of the oldest row with that key}: one query."""
    if not keys:
        return {}
    found: dict[str, int] = {}
    rows = queryset.filter(**{f"{key_field}__in": keys}).values_list(key_field, "id")
    for key, pk in rows.order_by("id"):
        found.setdefault(key, pk)
    return found


def _unique_by_key(queryset, key_field: str, keys: set[str]) -> dict[str, int]:
    """{key: id} for keys that exactly one row has: one query. Ambiguous keys are left out."""
    if not keys:
        return {}
    seen: dict[str, int | None] = {}
    for key, pk in queryset.filter(**{f"{key_field}__in": keys}).values_list(key_field, "id"):
        seen[key] = None if key in seen else pk
    return {key: pk for key, pk in seen.items() if pk is not None}


def contacts_match(contacts: list[CrmContact], *, account_names: dict) -> None:
    """Set ``member_id`` and ``match_method`` on each contact of the page (3 queries at most).

    ``account_names`` maps account CRM ids to account names, for the name-and-company key.
    """
    for contact in contacts:
        contact.member_id, contact.match_method = None, MatchMethod.NONE
    by_email = _first_by_key(Member.objects, "email", {c.email for c in contacts if c.email})
    pending = []
    for contact in contacts:
        if contact.email in by_email:
            contact.member_id, contact.match_method = by_email[contact.email], MatchMethod.EMAIL
        else:
            pending.append((contact, normalize_profile_url(contact.profile_url)))

    by_profile = _first_by_key(Member.objects, "profile_key", {key for _, key in pending if key})
    by_name_key = []
    for contact, profile_key in pending:
        if profile_key in by_profile:
            contact.member_id = by_profile[profile_key]
            contact.match_method = MatchMethod.PROFILE_URL
        else:
            company = account_names.get(contact.account_id, "")
            by_name_key.append(
                (contact, person_key(contact.first_name, contact.last_name, company))
            )

    by_name = _unique_by_key(Member.objects, "name_key", {key for _, key in by_name_key if key})
    for contact, key in by_name_key:
        if key in by_name:
            contact.member_id, contact.match_method = by_name[key], MatchMethod.NAME_COMPANY


def accounts_match(accounts: list[CrmAccount]) -> None:
    """Set ``company_id`` and ``match_method`` on each account of the page (2 queries at most)."""
    keyed = [(account, normalize_domain(account.website)) for account in accounts]
    by_domain = _first_by_key(Company.objects, "domain", {domain for _, domain in keyed if domain})
    pending = []
    for account, domain in keyed:
        if domain in by_domain:
            account.company_id, account.match_method = by_domain[domain], MatchMethod.DOMAIN
        else:
            account.company_id, account.match_method = None, MatchMethod.NONE
            pending.append((account, normalize_company(account.name)))
    by_name = _unique_by_key(Company.objects, "name_key", {key for _, key in pending if key})
    for account, key in pending:
        if key in by_name:
            account.company_id, account.match_method = by_name[key], MatchMethod.NAME


def account_names_for(*, contract_id: int, account_ids: Iterable) -> dict:
    """{account CRM id: name} from the mirror, for the contacts of one page (one query)."""
    ids = {account_id for account_id in account_ids if account_id}
    if not ids:
        return {}
    return dict(
        CrmAccount.objects.filter(contract_id=contract_id, crm_id__in=ids).values_list(
            "crm_id", "name"
        )
    )
