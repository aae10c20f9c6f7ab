"""From Dynamics rows to mirror rows: the columns read, validation, and one bulk write per page.

Each table the import reads is described by a ``MirrorTable``: its entity set, the columns it
selects (only those the rules need, ``$select``), and a converter from a Web API row to a plain
tuple of mirror values. Converters never raise on bad CRM data. They keep what is usable and
describe the rest as problems (the issue's "bad CRM data becomes a per-record problem with a clear
reason; the run carries on"):

- a row without a usable primary key cannot be stored at all: it is skipped (counted as failed);
- a value of the wrong type (text where a number belongs, a malformed GUID or date) is stored as
  empty and reported;
- an unexpected choice value (a ``statecode`` other than Open/Won/Lost, a ``salesstage`` that is
  not one of the org's options) is stored as read, so the rules simply do not import it, and
  reported;
- missing names, an owner the portal does not know (a team, or a user it cannot read) and a
  contact without an account are reported and stored.

Converters also compute the matching keys (``network.normalize``). ``page_convert`` turns a page
into plain tuples without touching the database (so it can run while the previous page is being
written), and ``mirror_page_write`` writes it through a staging table (``sync.staging``) with a
fixed number of queries whatever its size: stage, match to the network in SQL, count the rows
that exist, upsert, delete the ids Dynamics reported deleted, insert the problems.
"""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import connection
from django.db.models import Model

from network.models import Company, Member
from network.normalize import (
    normalize_company,
    normalize_domain,
    normalize_email,
    normalize_name,
    normalize_profile_url,
)
from sync.matching import account_match_steps, contact_match_steps
from sync.models import (
    CrmAccount,
    CrmContact,
    CrmCurrency,
    CrmOpportunity,
    CrmUser,
    SyncProblem,
)
from sync.pending import pending_note_all, pending_note_deleted, pending_note_stage
from sync.staging import Stage, copy_text

_OPPORTUNITY_STATES = {state.value: state.label for state in CrmOpportunity.State}
# Stored for an opportunity whose statecode is missing or not a number: never open.
_NO_STATE = -1
_GUID = re.compile(r"\{?([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})\}?")
# The form Dataverse sends: checked first because it needs no rewriting.
_CANONICAL_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Dataverse's DateTime format: UTC, an ISO 8601 date and time with a zone.
_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)")
# A date-only column (DateOnly behaviour) comes as a bare date; UserLocal ones as a moment.
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


@dataclass(frozen=True)
class ReadContext:
    """What converters need to know besides the row, fixed for one run."""

    contract_id: int
    won_value_column: str = "actualvalue"
    profile_url_column: str = ""
    # {value: label} of the org's salesstage options, when known (saved with the stage choice).
    stage_labels: dict = field(default_factory=dict)
    # CRM ids (lower-case text) of the contract's system users, to report unknown owners.
    user_ids: frozenset = frozenset()


class _Row:
    """Typed access to one Web API row that collects a problem for every unusable value.

    Values come back as the mirror stores them: text, numbers, GUIDs and dates as canonical
    text (COPY and the model fields both take those).
    """

    def __init__(self, row: dict, what: str):
        self.row = row
        self.what = what
        self.problems: list[str] = []

    def _wrong(self, column: str, value, expected: str) -> None:
        self.problems.append(
            f"{self.what}: column {column} holds {value!r}, not {expected}; it was left empty."
        )

    def text(self, column: str, max_length: int) -> str:
        value = self.row.get(column)
        if value is None:
            return ""
        if not isinstance(value, str):
            self._wrong(column, value, "text")
            return ""
        # PostgreSQL text cannot hold NUL characters; Dynamics text can.
        return value.replace("\x00", "").strip()[:max_length]

    def guid(self, column: str) -> str | None:
        value = self.row.get(column)
        if value is None or value == "":
            return None
        if value.__class__ is str and _CANONICAL_GUID.fullmatch(value):
            return value
        match = _GUID.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            self._wrong(column, value, "a GUID")
            return None
        return match.group(1).lower()

    def whole_number(self, column: str) -> int | None:
        value = self.row.get(column)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self._wrong(column, value, "a whole number")
            return None
        return value

    def money(self, column: str) -> Decimal | None:
        value = self.row.get(column)
        if value is None:
            return None
        amount = None
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            try:
                amount = Decimal(str(value))
            except InvalidOperation:
                amount = None
        if amount is None or not amount.is_finite() or abs(amount) >= 10**16:
            self._wrong(column, value, "an amount")
            return None
        return amount

    def date(self, column: str) -> str | None:
        """A date (``2026-03-31``): a date-only value as sent, a date and time by its UTC date
        (Dataverse sends those in UTC)."""
        value = self.row.get(column)
        if not value:
            return None
        text = value[:10] if isinstance(value, str) and _MOMENT.fullmatch(value) else value
        if isinstance(text, str) and _DATE.fullmatch(text):
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                pass  # 2026-02-30: shaped like a date, but none
        self._wrong(column, value, "a date")
        return None

    def moment(self, column: str) -> str | None:
        value = self.row.get(column)
        if not value:
            return None
        if not isinstance(value, str) or not _MOMENT.fullmatch(value):
            self._wrong(column, value, "a date and time")
            return None
        return value


@dataclass
class Converted:
    """One converted row: its CRM id, its values (None when it had to be skipped), problems."""

    crm_id: str
    values: tuple | None
    problems: list[str]


def _owner(reader: _Row, context: ReadContext) -> str | None:
    owner_id = reader.guid("_ownerid_value")
    if owner_id is None:
        reader.problems.append(f"{reader.what} has no owner, so it is imported for nobody.")
    elif context.user_ids and owner_id not in context.user_ids:
        reader.problems.append(
            f"{reader.what} is owned by {owner_id}, which is not a CRM user the portal can read "
            "(a team, or a user outside its view), so it is imported for nobody."
        )
    return owner_id


def _skipped(row: dict, key: str, what: str) -> Converted:
    return Converted(str(row.get(key) or "")[:64], None, [f"{what} without a usable {key}."])


def user_from_row(row: dict, context: ReadContext) -> Converted:
    reader = _Row(row, "System user")
    crm_id = reader.guid("systemuserid")
    if crm_id is None:
        return _skipped(row, "systemuserid", "System user")
    values = (
        reader.text("fullname", 200),
        reader.text("internalemailaddress", 254).lower(),
        reader.text("domainname", 254).lower(),
        reader.guid("azureactivedirectoryobjectid"),
        bool(row.get("isdisabled")),
        bool(row.get("applicationid")),
        reader.whole_number("accessmode"),
        reader.moment("modifiedon"),
    )
    return Converted(crm_id, values, reader.problems)


def currency_from_row(row: dict, context: ReadContext) -> Converted:
    reader = _Row(row, "Currency")
    crm_id = reader.guid("transactioncurrencyid")
    if crm_id is None:
        return _skipped(row, "transactioncurrencyid", "Currency")
    code = reader.text("isocurrencycode", 5).upper()
    name = reader.text("currencyname", 100)
    if not code:
        reader.problems.append(
            f"Currency {name or crm_id} has no currency code; its amounts are shown with its name."
        )
    values = (
        code,
        reader.text("currencysymbol", 10),
        name,
        reader.moment("modifiedon"),
    )
    return Converted(crm_id, values, reader.problems)


def account_from_row(row: dict, context: ReadContext) -> Converted:
    reader = _Row(row, "Account")
    crm_id = reader.guid("accountid")
    if crm_id is None:
        return _skipped(row, "accountid", "Account")
    name = reader.text("name", 200)
    reader.what = f"Account {name}" if name else "Account"
    if not name:
        reader.problems.append("Account has no name; it can only match a company by website.")
    website = reader.text("websiteurl", 300)
    values = (
        name,
        website,
        normalize_domain(website),
        normalize_company(name),
        # An account's own owner decides nothing (its opportunities' owners do): not checked.
        reader.guid("_ownerid_value"),
        reader.moment("modifiedon"),
    )
    return Converted(crm_id, values, reader.problems)


def contact_from_row(row: dict, context: ReadContext) -> Converted:
    reader = _Row(row, "Contact")
    crm_id = reader.guid("contactid")
    if crm_id is None:
        return _skipped(row, "contactid", "Contact")
    first, last = reader.text("firstname", 100), reader.text("lastname", 100)
    full = reader.text("fullname", 200) or f"{first} {last}".strip()
    if not (first or last) and full:
        # Dynamics can hold a full name only; split it so the name still matches.
        first, _, last = full.partition(" ")
    reader.what = f"Contact {full}" if full else "Contact"
    if not full:
        reader.problems.append("Contact has no name; it can only match a member by email.")
    account_id = reader.guid("_parentcustomerid_value")
    if account_id is None:
        reader.problems.append(
            f"{reader.what} has no account (Company Name), so it can only match a network "
            "member by email or profile URL."
        )
    profile_url = ""
    if context.profile_url_column:
        profile_url = reader.text(context.profile_url_column, 300)
    values = (
        first[:100],
        last[:100],
        full,
        normalize_email(reader.text("emailaddress1", 254)),
        reader.text("jobtitle", 200),
        account_id,
        profile_url,
        normalize_profile_url(profile_url),
        normalize_name(f"{first} {last}")[:200],
        reader.moment("modifiedon"),
    )
    return Converted(crm_id, values, reader.problems)


def opportunity_from_row(row: dict, context: ReadContext) -> Converted:
    reader = _Row(row, "Opportunity")
    crm_id = reader.guid("opportunityid")
    if crm_id is None:
        return _skipped(row, "opportunityid", "Opportunity")
    name = reader.text("name", 300)
    reader.what = f"Opportunity {name}" if name else "Opportunity"
    if not name:
        reader.problems.append("Opportunity has no name.")
    state = row.get("statecode")
    if isinstance(state, bool) or state not in _OPPORTUNITY_STATES:
        reader.problems.append(
            f"{reader.what}: statecode {state!r} is not Open (0), Won (1) or Lost (2); "
            "it is treated as not open."
        )
        # Stored as read when it is a number, so the record shows what Dynamics holds.
        state = state if isinstance(state, int) and not isinstance(state, bool) else _NO_STATE
    stage = reader.whole_number("salesstage")
    if stage is not None and context.stage_labels and stage not in context.stage_labels:
        options = ", ".join(f"{label} ({value})" for value, label in context.stage_labels.items())
        reader.problems.append(
            f"{reader.what}: salesstage {stage} is not one of the CRM's stages ({options}); "
            "it only counts when the stage is Not Sure."
        )
    won_value = reader.money(context.won_value_column)
    values = (
        name,
        _owner(reader, context),
        state,
        stage,
        reader.guid("_parentaccountid_value"),
        reader.guid("_parentcontactid_value"),
        reader.guid("_customerid_value"),
        reader.money("estimatedvalue"),
        # Only a won opportunity has a won value (the admin's column, or Actual Revenue).
        won_value if state == CrmOpportunity.State.WON else None,
        reader.date("actualclosedate"),
        reader.guid("_transactioncurrencyid_value"),
        reader.moment("modifiedon"),
    )
    return Converted(crm_id, values, reader.problems)


@dataclass(frozen=True)
class MirrorTable:
    """One Dynamics table the import mirrors."""

    logical_name: str
    entity_set: str
    key: str
    model: type[Model]
    columns: tuple[str, ...]
    # The mirror columns a converter's values fill, in order (after crm_id).
    fields: tuple[str, ...]
    convert: Callable[[dict, ReadContext], Converted]
    # Matching to the network: the mirror column it sets, and the statements (sync.matching).
    match_target: str = ""
    match_steps: Callable[..., list[str]] | None = None
    # The columns the saves evaluation and the "why not imported" answers look rows up by: the
    # ones given planner statistics at once after a full read (autovacuum does the rest later).
    planner_columns: tuple[str, ...] = ("contract_id", "crm_id")

    def select(self, context: ReadContext) -> list[str]:
        """The ``$select`` for this run: the table's columns plus the admin's chosen ones."""
        extra = []
        if self.logical_name == "opportunity":
            extra.append(context.won_value_column)
        if self.logical_name == "contact" and context.profile_url_column:
            extra.append(context.profile_url_column)
        return list(dict.fromkeys([*self.columns, *extra]))

    def stage(self) -> Stage:
        matching = (self.match_target, "match_method") if self.match_target else ()
        return Stage(self.model, ("crm_id", *self.fields, "seen_in_run", *matching))


USERS = MirrorTable(
    logical_name="systemuser",
    entity_set="systemusers",
    key="systemuserid",
    model=CrmUser,
    columns=(
        "systemuserid", "fullname", "internalemailaddress", "domainname",
        "azureactivedirectoryobjectid", "isdisabled", "applicationid", "accessmode",
        "modifiedon",
    ),
    fields=(
        "full_name", "email", "domain_name", "azure_object_id", "is_disabled",
        "is_application_user", "access_mode", "modified_on",
    ),
    convert=user_from_row,
)  # fmt: skip
CURRENCIES = MirrorTable(
    logical_name="transactioncurrency",
    entity_set="transactioncurrencies",
    key="transactioncurrencyid",
    model=CrmCurrency,
    columns=("transactioncurrencyid", "isocurrencycode", "currencysymbol", "currencyname",
             "modifiedon"),
    fields=("iso_code", "symbol", "name", "modified_on"),
    convert=currency_from_row,
)  # fmt: skip
ACCOUNTS = MirrorTable(
    logical_name="account",
    entity_set="accounts",
    key="accountid",
    model=CrmAccount,
    columns=("accountid", "name", "websiteurl", "_ownerid_value", "modifiedon"),
    fields=("name", "website", "domain", "name_key", "owner_id", "modified_on"),
    convert=account_from_row,
    match_target="company_id",
    match_steps=account_match_steps,
    planner_columns=("contract_id", "crm_id", "company_id"),
)
CONTACTS = MirrorTable(
    logical_name="contact",
    entity_set="contacts",
    key="contactid",
    model=CrmContact,
    columns=(
        "contactid", "firstname", "lastname", "fullname", "emailaddress1", "jobtitle",
        "_parentcustomerid_value", "modifiedon",
    ),
    fields=(
        "first_name", "last_name", "full_name", "email", "job_title", "account_id",
        "profile_url", "profile_key", "name_key", "modified_on",
    ),
    convert=contact_from_row,
    match_target="member_id",
    match_steps=contact_match_steps,
    planner_columns=("contract_id", "crm_id", "member_id", "account_id"),
)  # fmt: skip
OPPORTUNITIES = MirrorTable(
    logical_name="opportunity",
    entity_set="opportunities",
    key="opportunityid",
    model=CrmOpportunity,
    columns=(
        "opportunityid", "name", "statecode", "salesstage", "_ownerid_value",
        "_parentaccountid_value", "_parentcontactid_value", "_customerid_value",
        "estimatedvalue", "actualclosedate", "_transactioncurrencyid_value", "modifiedon",
    ),
    fields=(
        "name", "owner_id", "state", "sales_stage", "account_id", "contact_id", "customer_id",
        "estimated_value", "won_value", "actual_close_date", "currency_id", "modified_on",
    ),
    convert=opportunity_from_row,
    planner_columns=(
        "contract_id", "crm_id", "owner_id", "state", "sales_stage", "account_id", "contact_id",
        "customer_id",
    ),
)  # fmt: skip
# Users first (owners are checked against them), then the currencies (one page: what the won
# values are in), accounts before contacts (a contact is matched by its name and its account's
# name), opportunities last.
TABLES = (USERS, CURRENCIES, ACCOUNTS, CONTACTS, OPPORTUNITIES)


@dataclass
class PageCounts:
    """What writing one page did, in the run's per-table count names."""

    read: int = 0
    created: int = 0
    updated: int = 0
    removed: int = 0
    unmatched: int = 0
    failed: int = 0
    problems: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _match(table: MirrorTable, stage: Stage, cursor, context: ReadContext) -> None:
    """Run the table's matching steps on the stage (``match_method`` says which rows matched)."""
    for step in table.match_steps(stage.name, profile_urls=bool(context.profile_url_column)):
        cursor.execute(step, [context.contract_id] if "%s" in step else [])


@dataclass
class ConvertedPage:
    """A page of rows as mirror tuples, ready to write; building it needs no database.

    ``rows`` are (crm_id, *fields, seen_in_run[, match target, match method]) in the order of the
    table's stage, one per CRM id (when an id comes twice the last wins: one upsert cannot touch
    a row twice). ``problems`` are (crm_id, reason).
    """

    rows: list[tuple]
    problems: list[tuple[str, str]]
    read: int
    failed: int
    deleted_ids: list[str]
    # The rows in COPY's text format, on PostgreSQL: made here so the writer only sends them.
    copy_payload: bytes | None = None


def page_convert(
    *, table: MirrorTable, context: ReadContext, rows: list[dict], deleted_ids: list[str], mark
) -> ConvertedPage:
    """Convert a page's rows (``mark`` goes to ``seen_in_run``); skipped rows become problems."""
    matching = (None, "") if table.match_target else ()
    staged: dict[str, tuple] = {}
    problems = []
    failed = 0
    for row in rows:
        converted = table.convert(row, context)
        problems += [(converted.crm_id, reason[:500]) for reason in converted.problems]
        if converted.values is None:
            failed += 1
        else:
            staged[converted.crm_id] = (converted.crm_id, *converted.values, mark, *matching)
    values = list(staged.values())
    payload = copy_text(values) if connection.vendor == "postgresql" else None
    return ConvertedPage(values, problems, len(rows), failed, deleted_ids, payload)


def mirror_page_write(
    *,
    table: MirrorTable,
    page: ConvertedPage,
    context: ReadContext,
    run_id: int,
    full_read: bool = False,
) -> PageCounts:
    """Write one converted page to the mirror, with a fixed number of queries.

    1. Stage the page (2 queries and a COPY, or 3 queries).
    2. Match it to the network: one statement per key (accounts: domain, name; contacts: email,
       name and company, and the profile URL when the contract has that column).
    3. Note the saves the page may change for the next decision (``sync.pending``): on a page of
       a full read, all of them, else those of the rows whose match or deciding columns changed
       (1).
    4. Upsert the stage into the mirror, which also says how many rows were new and how many
       matched (1; 3 where the database cannot say so in the same statement).
    5. Delete the rows Dynamics reported deleted, noting their saves first (2 when there are any).
    6. Insert the page's problems (1 when there are any).
    """
    counts = PageCounts(read=page.read, failed=page.failed, problems=len(page.problems))
    contract_id = context.contract_id
    name = table.logical_name
    if page.rows or full_read:
        with connection.cursor() as cursor:
            if full_read:
                pending_note_all(cursor=cursor, contract_id=contract_id, table=name)
            if page.rows:
                stage = table.stage()
                stage.reset(cursor)
                stage.fill(cursor, page.rows, page.copy_payload)
                if table.match_steps is not None:
                    _match(table, stage, cursor, context)
                if not full_read:
                    pending_note_stage(
                        cursor=cursor, contract_id=contract_id, table=name, stage=stage.name
                    )
                counts.created, matched = stage.upsert(cursor, contract_id)
                counts.updated = len(page.rows) - counts.created
                if table.match_steps is not None:
                    counts.unmatched = len(page.rows) - matched
    if page.deleted_ids:
        crm_ids = _valid_guids(page.deleted_ids)
        with connection.cursor() as cursor:
            pending_note_deleted(
                cursor=cursor, contract_id=contract_id, table=name, crm_ids=crm_ids
            )
        gone = table.model.objects.filter(contract_id=contract_id, crm_id__in=crm_ids)
        _, deleted = gone.delete()
        counts.removed = deleted.get(table.model._meta.label, 0)
    if page.problems:
        SyncProblem.objects.bulk_create(
            SyncProblem(run_id=run_id, table=table.logical_name, crm_id=crm_id, reason=reason)
            for crm_id, reason in page.problems
        )
    return counts


def _valid_guids(values: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(match.group(1)) for value in values if (match := _GUID.fullmatch(value))]


def network_grew_since(moment) -> bool:
    """Whether the prospecting network gained members or companies since ``moment``."""
    return (
        Member.objects.filter(created_at__gte=moment).exists()
        or Company.objects.filter(created_at__gte=moment).exists()
    )


def mirror_rematch(
    *, contract_id: int, profile_url_column: str = "", tables: tuple[MirrorTable, ...] = ()
) -> int:
    """Match again the contract's unmatched rows of ``tables`` (default: accounts, then
    contacts). The caller asks first whether it is worth it (``network_grew_since``).

    Network rows loaded after a CRM row was read could match it; without this the row would wait
    for its next change in Dynamics. The unmatched rows go through the same staging and matching
    statements as a page; returns how many now match.
    """
    context = ReadContext(contract_id=contract_id, profile_url_column=profile_url_column)
    matched = 0
    with connection.cursor() as cursor:
        for table in tables or (ACCOUNTS, CONTACTS):
            stage = table.stage()
            stage.reset(cursor)
            if stage.take_unmatched(cursor, contract_id, table.match_target):
                _match(table, stage, cursor, context)
                found = stage.count_matched(cursor)
                if found:
                    pending_note_stage(
                        cursor=cursor,
                        contract_id=contract_id,
                        table=table.logical_name,
                        stage=stage.name,
                    )
                    stage.write_matches(cursor, contract_id, table.match_target)
                matched += found
    return matched
