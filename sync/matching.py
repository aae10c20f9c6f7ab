"""Matching CRM contacts and accounts to the prospecting network, set-wise in SQL.

Keys, in order (the first that finds someone wins, and the row remembers which one it was in
``match_method``):

- contacts: ``email`` (the contact's email = the member's known email), then ``profile_url``
  (the admin's LinkedIn profile column on contact, when the org has one), then ``name_company``
  (the normalised first and last name plus the normalised name of the contact's account, which is
  how ``Member.name_key`` is built);
- accounts: ``domain`` (the website's host = the company's domain), then ``name`` (normalised),
  unless both have a website and they differ: then they are two companies of the same name.

An email, profile URL or domain is an identity, so when several network rows share one the
oldest wins. A name is not: when a name finds several network rows the CRM row stays unmatched
rather than being saved as the wrong person or company.

The keys are normalised in Python when a row is read (``sync.mirror``); the matching itself is a
few UPDATE statements over the rows of a staging table: a page while reading, or the mirror's
unmatched rows when the network grew (``mirror_rematch``). Each is one statement whatever the
number of rows. Unmatched rows stay in the mirror with ``match_method = ''`` and are reported,
never dropped.
"""

from dataclasses import dataclass

from network.models import Company, Member
from sync.models import CrmAccount, MatchMethod


@dataclass(frozen=True)
class _Lookup:
    """How one key finds a network row for the stage row ``s``: ``found`` is an aggregate over
    the network rows ``n`` of ``rows`` (a ``FROM ... WHERE``) giving the network id or NULL."""

    found: str
    rows: str


def _oldest(network: str, key: str, value: str) -> _Lookup:
    """The oldest network row with this key: emails, profile URLs and domains are identities."""
    return _Lookup("MIN(n.id)", f"FROM {network} n WHERE n.{key} = {value}")


def _only(network: str, key: str, value: str, also: str = "") -> _Lookup:
    """The one network row with this key, or NULL when there are several: names are not unique."""
    return _Lookup(
        "CASE WHEN COUNT(*) = 1 THEN MIN(n.id) END",
        f"FROM {network} n WHERE n.{key} = {value} {also}",
    )


def _match(*, stage: str, target: str, method: str, lookup: _Lookup, where: str = "") -> str:
    """The statement that matches the stage's unmatched rows by one key.

    One correlated subquery per row sets both the network id and ``match_method``. It walks the
    network's index for that key, so a page costs the same whether the network holds thousands
    of rows or millions (a join would read the whole network table), and the plan needs no
    statistics on the freshly filled stage. Rows it does not match keep NULL and ``''``.
    """
    return (
        f"UPDATE {stage} AS s SET ({target}, match_method) = "
        f"(SELECT {lookup.found}, CASE WHEN {lookup.found} IS NULL THEN '' ELSE '{method}' END "
        f"{lookup.rows}) WHERE s.{target} IS NULL {where}"
    )


def contact_match_steps(stage: str, *, profile_urls: bool = True) -> list[str]:
    """Statements that match the unmatched contacts in ``stage``, in order.

    The profile URL step is left out when the contract has no profile column. The
    name-and-company statement takes the contract id as its parameter: the account names come
    from the contract's account mirror.
    """
    member = Member._meta.db_table
    account = CrmAccount._meta.db_table
    account_name = (
        f"(SELECT a.name_key FROM {account} a WHERE a.contract_id = %s AND a.crm_id = s.account_id)"
    )
    by_email = _match(
        stage=stage,
        target="member_id",
        method=MatchMethod.EMAIL,
        lookup=_oldest(member, "email", "s.email"),
        where="AND s.email <> ''",
    )
    by_profile = _match(
        stage=stage,
        target="member_id",
        method=MatchMethod.PROFILE_URL,
        lookup=_oldest(member, "profile_key", "s.profile_key"),
        where="AND s.profile_key <> ''",
    )
    return [
        by_email,
        *([by_profile] if profile_urls else []),
        # Member.name_key is "<name>|<company>"; an account without a name key gives "<name>|",
        # which no member has.
        _match(
            stage=stage,
            target="member_id",
            method=MatchMethod.NAME_COMPANY,
            lookup=_only(member, "name_key", f"s.name_key || '|' || {account_name}"),
            where="AND s.name_key <> '' AND s.account_id IS NOT NULL",
        ),
    ]


def account_match_steps(stage: str, **options) -> list[str]:
    """Statements that match the unmatched accounts in ``stage``, in order."""
    company = Company._meta.db_table
    return [
        _match(
            stage=stage,
            target="company_id",
            method=MatchMethod.DOMAIN,
            lookup=_oldest(company, "domain", "s.domain"),
            where="AND s.domain <> ''",
        ),
        _match(
            stage=stage,
            target="company_id",
            method=MatchMethod.NAME,
            # A company whose website is another one is another company of the same name.
            lookup=_only(company, "name_key", "s.name_key", "AND (s.domain = '' OR n.domain = '')"),
            where="AND s.name_key <> ''",
        ),
    ]
