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
class MatchStep:
    """Matching by one key: ``find`` sets the network id where the key finds one, ``note`` then
    records how on the rows it matched (its row count is how many did)."""

    find: str
    note: str


def _match(*, stage: str, target: str, method: str, found: str, where: str = "") -> MatchStep:
    """The step that matches the stage's unmatched rows by one key.

    ``found`` is a scalar subquery over the stage row ``s`` giving the network id or NULL. A
    lookup per row walks the network's index for that key, so a page costs the same whether the
    network holds thousands of rows or millions (a join would read the whole network table), and
    the plan needs no statistics on the freshly filled stage.
    """
    return MatchStep(
        find=f"UPDATE {stage} AS s SET {target} = {found} WHERE s.{target} IS NULL {where}",
        note=(
            f"UPDATE {stage} SET match_method = '{method}' "
            f"WHERE {target} IS NOT NULL AND match_method = ''"
        ),
    )


def _oldest(network: str, key: str, value: str) -> str:
    """The oldest network row with this key: emails, profile URLs and domains are identities."""
    return f"(SELECT MIN(id) FROM {network} WHERE {key} = {value})"


def _only(network: str, key: str, value: str, also: str = "") -> str:
    """The one network row with this key, or NULL when there are several: names are not unique."""
    return (
        f"(SELECT CASE WHEN COUNT(*) = 1 THEN MIN(id) END FROM {network} "
        f"WHERE {key} = {value} {also})"
    )


def contact_match_steps(stage: str, *, profile_urls: bool = True) -> list[MatchStep]:
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
        found=_oldest(member, "email", "s.email"),
        where="AND s.email <> ''",
    )
    by_profile = _match(
        stage=stage,
        target="member_id",
        method=MatchMethod.PROFILE_URL,
        found=_oldest(member, "profile_key", "s.profile_key"),
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
            found=_only(member, "name_key", f"s.name_key || '|' || {account_name}"),
            where="AND s.name_key <> '' AND s.account_id IS NOT NULL",
        ),
    ]


def account_match_steps(stage: str, **options) -> list[MatchStep]:
    """Statements that match the unmatched accounts in ``stage``, in order."""
    company = Company._meta.db_table
    return [
        _match(
            stage=stage,
            target="company_id",
            method=MatchMethod.DOMAIN,
            found=_oldest(company, "domain", "s.domain"),
            where="AND s.domain <> ''",
        ),
        _match(
            stage=stage,
            target="company_id",
            method=MatchMethod.NAME,
            # A company whose website is another one is another company of the same name.
            found=_only(company, "name_key", "s.name_key", "AND (s.domain = '' OR domain = '')"),
            where="AND s.name_key <> ''",
        ),
    ]
