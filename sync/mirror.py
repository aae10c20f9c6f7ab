"""From Dynamics rows to mirror rows: the columns read, validation, and one bulk write per page.

Each table the import reads is described by a ``MirrorTable``: its entity set, the columns it
selects (only those the rules need, ``$select``), and a converter from a Web API row to an unsaved
mirror object. Converters never raise on bad CRM data. They keep what is usable and describe the
rest as problems (the issue's "bad CRM data becomes a per-record problem with a clear reason; the
run carries on"):

- a row without a usable primary key cannot be stored at all: it is skipped (counted as failed);
- a value of the wrong type (text where a number belongs, a malformed GUID) is stored as empty and
  reported;
- an unexpected choice value (a ``statecode`` other than Open/Won/Lost, a ``salesstage`` that is
  not one of the org's options) is stored as read, so the rules simply do not import it, and
  reported;
- missing names, an owner the portal does not know (a team, or a user it cannot read) and a
  contact without an account are reported and stored.

``mirror_page_write`` then writes a whole page with a fixed number of queries whatever its size:
match to the network, find which ids exist, one bulk upsert keyed by (contract, crm_id), one
delete for the ids Dynamics reported deleted, one bulk insert of problems.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import Model
from django.utils.dateparse import parse_datetime

from network.models import Company, Member
from sync.matching import account_names_for, accounts_match, contacts_match
from sync.models import CrmAccount, CrmContact, CrmOpportunity, CrmUser, SyncProblem

_OPPORTUNITY_STATES = {state.value: state.label for state in CrmOpportunity.State}
# Stored for an opportunity whose statecode is missing or not a number: never open.
_NO_STATE = -1
REMATCH_PAGE = 5000


@dataclass(frozen=True)
class ReadContext:
    """What converters need to know besides the row, fixed for one run."""

    contract_id: int
    won_value_column: str = "actualvalue"
    profile_url_column: str = ""
    # {value: label} of the org's salesstage options, when known (saved with the stage choice).
    stage_labels: dict = field(default_factory=dict)
    # CRM ids of the contract's system users, to report rows owned by someone unknown.
    user_ids: frozenset = frozenset()


class _Row:
    """Typed access to one Web API row that collects a problem for every unusable value."""

    def __init__(self, row: dict, what: str):
        self.row = row
        self.what = what
        self.problems: list[str] = []

    def text(self, column: str, max_length: int) -> str:
        value = self.row.get(column)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.problems.append(
                f"{self.what}: column {column} holds {value!r}, not text; it was left empty."
            )
            return ""
        return value.strip()[:max_length]

    def guid(self, column: str) -> uuid.UUID | None:
        value = self.row.get(column)
        if value in (None, ""):
            return None
        try:
            return uuid.UUID(str(value))
        except ValueError:
            self.problems.append(
                f"{self.what}: column {column} holds {value!r}, not a GUID; it was left empty."
            )
            return None

    def whole_number(self, column: str) -> int | None:
        value = self.row.get(column)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(
                f"{self.what}: column {column} holds {value!r}, not a whole number; "
                "it was left empty."
            )
            return None
        return value

    def money(self, column: str) -> Decimal | None:
        value = self.row.get(column)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            value = None
        try:
            amount = Decimal(str(value)) if value is not None else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or abs(amount) >= 10**16:
            self.problems.append(
                f"{self.what}: column {column} holds {self.row.get(column)!r}, not an amount; "
                "it was left empty."
            )
            return None
        return amount

    def moment(self, column: str):
        value = self.row.get(column)
        if not value:
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            self.problems.append(
                f"{self.what}: column {column} holds {value!r}, not a date and time."
            )
        return parsed


@dataclass
class Converted:
    """One converted row: the mirror object (None when the row had to be skipped) and problems."""

    obj: Model | None
    problems: list[str]


def _owner_problem(reader: _Row, owner_id, context: ReadContext) -> None:
    if owner_id is None:
        reader.problems.append(f"{reader.what} has no owner, so it is imported for nobody.")
    elif context.user_ids and owner_id not in context.user_ids:
        reader.problems.append(
            f"{reader.what} is owned by {owner_id}, which is not a CRM user the portal can read "
            "(a team, or a user outside its view), so it is imported for nobody."
        )


def user_from_row(row: dict, context: ReadContext) -> Converted:
    reader = _Row(row, "System user")
    crm_id = reader.guid("systemuserid")
    if crm_id is None:
        return Converted(None, ["System user without a systemuserid; skipped."])
    return Converted(
        CrmUser(
            contract_id=context.contract_id,
            crm_id=crm_id,
            full_name=reader.text("fullname", 200),
            email=reader.text("internalemailaddress", 254).lower(),
            domain_name=reader.text("domainname", 254).lower(),
            azure_object_id=reader.guid("azureactivedirectoryobjectid"),
            is_disabled=bool(row.get("isdisabled")),
            is_application_user=bool(row.get("applicationid")),
            modified_on=reader.moment("modifiedon"),
        ),
        reader.problems,
    )


def account_from_row(row: dict, context: ReadContext) -> Converted:
    reader = _Row(row, "Account")
    crm_id = reader.guid("accountid")
    if crm_id is None:
        return Converted(None, ["Account without an accountid; skipped."])
    name = reader.text("name", 200)
    reader.what = f"Account {name}" if name else "Account"
    if not name:
        reader.problems.append("Account has no name; it can only match a company by website.")
    owner_id = reader.guid("_ownerid_value")
    return Converted(
        CrmAccount(
            contract_id=context.contract_id,
            crm_id=crm_id,
            name=name,
            website=reader.text("websiteurl", 300),
            owner_id=owner_id,
            modified_on=reader.moment("modifiedon"),
        ),
        reader.problems,
    )


def contact_from_row(row: dict, context: ReadContext) -> Converted:
    reader = _Row(row, "Contact")
    crm_id = reader.guid("contactid")
    if crm_id is None:
        return Converted(None, ["Contact without a contactid; skipped."])
    first, last = reader.text("firstname", 100), reader.text("lastname", 100)
    full = reader.text("fullname", 200) or f"{first} {last}".strip()
    if not (first or last) and full:
        # Dynamics can hold a full name only; split it so the name key still works.
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
    return Converted(
        CrmContact(
            contract_id=context.contract_id,
            crm_id=crm_id,
            first_name=first[:100],
            last_name=last[:100],
            full_name=full,
            email=reader.text("emailaddress1", 254).lower(),
            job_title=reader.text("jobtitle", 200),
            account_id=account_id,
            profile_url=profile_url,
            modified_on=reader.moment("modifiedon"),
        ),
        reader.problems,
    )


def opportunity_from_row(row: dict, context: ReadContext) -> Converted:
    reader = _Row(row, "Opportunity")
    crm_id = reader.guid("opportunityid")
    if crm_id is None:
        return Converted(None, ["Opportunity without an opportunityid; skipped."])
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
    owner_id = reader.guid("_ownerid_value")
    _owner_problem(reader, owner_id, context)
    won_value = reader.money(context.won_value_column)
    return Converted(
        CrmOpportunity(
            contract_id=context.contract_id,
            crm_id=crm_id,
            name=name,
            owner_id=owner_id,
            state=state,
            sales_stage=stage,
            account_id=reader.guid("_parentaccountid_value"),
            contact_id=reader.guid("_parentcontactid_value"),
            customer_id=reader.guid("_customerid_value"),
            estimated_value=reader.money("estimatedvalue"),
            # Only a won opportunity has a won value (the admin's column, or Actual Revenue).
            won_value=won_value if state == CrmOpportunity.State.WON else None,
            modified_on=reader.moment("modifiedon"),
        ),
        reader.problems,
    )


@dataclass(frozen=True)
class MirrorTable:
    """One Dynamics table the import mirrors."""

    logical_name: str
    entity_set: str
    key: str
    model: type[Model]
    columns: tuple[str, ...]
    # The mirror fields an upsert overwrites (everything but the contract and the id).
    fields: tuple[str, ...]
    convert: Callable[[dict, ReadContext], Converted]
    # Sets the network match on a page of converted rows; None for tables that are not matched.
    match: Callable[[list, ReadContext], None] | None = None

    def select(self, context: ReadContext) -> list[str]:
        """The ``$select`` for this run: the table's columns plus the admin's chosen ones."""
        extra = []
        if self.logical_name == "opportunity":
            extra.append(context.won_value_column)
        if self.logical_name == "contact" and context.profile_url_column:
            extra.append(context.profile_url_column)
        return list(dict.fromkeys([*self.columns, *extra]))


def _match_accounts(accounts: list[CrmAccount], context: ReadContext) -> None:
    accounts_match(accounts)


def _match_contacts(contacts: list[CrmContact], context: ReadContext) -> None:
    names = account_names_for(
        contract_id=context.contract_id, account_ids=(contact.account_id for contact in contacts)
    )
    contacts_match(contacts, account_names=names)


_MIRROR_BASE = ("seen_in_run", "modified_on")
USERS = MirrorTable(
    logical_name="systemuser",
    entity_set="systemusers",
    key="systemuserid",
    model=CrmUser,
    columns=(
        "systemuserid", "fullname", "internalemailaddress", "domainname",
        "azureactivedirectoryobjectid", "isdisabled", "applicationid", "modifiedon",
    ),
    fields=(
        *_MIRROR_BASE, "full_name", "email", "domain_name", "azure_object_id", "is_disabled",
        "is_application_user",
    ),
    convert=user_from_row,
)  # fmt: skip
ACCOUNTS = MirrorTable(
    logical_name="account",
    entity_set="accounts",
    key="accountid",
    model=CrmAccount,
    columns=("accountid", "name", "websiteurl", "_ownerid_value", "modifiedon"),
    fields=(*_MIRROR_BASE, "name", "website", "owner_id", "company", "match_method"),
    convert=account_from_row,
    match=_match_accounts,
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
        *_MIRROR_BASE, "first_name", "last_name", "full_name", "email", "job_title", "account_id",
        "profile_url", "member", "match_method",
    ),
    convert=contact_from_row,
    match=_match_contacts,
)  # fmt: skip
OPPORTUNITIES = MirrorTable(
    logical_name="opportunity",
    entity_set="opportunities",
    key="opportunityid",
    model=CrmOpportunity,
    columns=(
        "opportunityid", "name", "statecode", "salesstage", "_ownerid_value",
        "_parentaccountid_value", "_parentcontactid_value", "_customerid_value",
        "estimatedvalue", "modifiedon",
    ),
    fields=(
        *_MIRROR_BASE, "name", "owner_id", "state", "sales_stage", "account_id", "contact_id",
        "customer_id", "estimated_value", "won_value",
    ),
    convert=opportunity_from_row,
)  # fmt: skip
# Users first (owners are checked against them), accounts before contacts (a contact's company
# name comes from its account), opportunities last.
TABLES = (USERS, ACCOUNTS, CONTACTS, OPPORTUNITIES)
TABLES_BY_NAME = {table.logical_name: table for table in TABLES}


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


def mirror_page_write(
    *,
    table: MirrorTable,
    context: ReadContext,
    rows: list[dict],
    deleted_ids: list[str],
    mark: int,
    run_id: int,
) -> PageCounts:
    """Write one page of a table to the mirror, with a fixed number of queries.

    1. Convert every row; rows without a usable id are skipped, every problem is kept. Rows
       carry ``mark`` in ``seen_in_run`` (the read's reconciliation mark).
    2. When the same id comes twice, keep the last (one upsert cannot touch a row twice).
    3. Match the page to the network (accounts: 2 queries; contacts: 1 for account names + 3).
    4. Look up which ids exist already (1 query), for the created/updated counts.
    5. Upsert the page by (contract, crm_id) (1 query; SQLite splits it in batches of 999
       parameters).
    6. Delete the rows Dynamics reported deleted (1 query when there are any).
    7. Insert the page's problems (1 query when there are any).
    """
    counts = PageCounts(read=len(rows))
    problems: list[SyncProblem] = []
    by_id: dict = {}
    for row in rows:
        converted = table.convert(row, context)
        crm_id = converted.obj.crm_id if converted.obj is not None else row.get(table.key)
        problems += [
            SyncProblem(
                run_id=run_id,
                table=table.logical_name,
                crm_id=str(crm_id or "")[:64],
                reason=reason[:500],
            )
            for reason in converted.problems
        ]
        if converted.obj is None:
            counts.failed += 1
        else:
            converted.obj.seen_in_run = mark
            by_id[converted.obj.crm_id] = converted.obj
    objects = list(by_id.values())

    if table.match is not None:
        table.match(objects, context)
        counts.unmatched = sum(1 for obj in objects if not obj.match_method)

    mirror = table.model.objects.filter(contract_id=context.contract_id)
    if objects:
        existing = set(mirror.filter(crm_id__in=by_id).values_list("crm_id", flat=True))
        counts.updated = len(existing)
        counts.created = len(objects) - counts.updated
        table.model.objects.bulk_create(
            objects,
            update_conflicts=True,
            unique_fields=["contract", "crm_id"],
            update_fields=list(table.fields),
        )
    if deleted_ids:
        _, deleted = mirror.filter(crm_id__in=_valid_guids(deleted_ids)).delete()
        counts.removed = deleted.get(table.model._meta.label, 0)
    if problems:
        SyncProblem.objects.bulk_create(problems)
    counts.problems = len(problems)
    return counts


def _valid_guids(values: list[str]) -> list[uuid.UUID]:
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return ids


def mirror_rematch(*, contract_id: int, network_changed_since) -> int:
    """Match again the contract's unmatched rows, when the network gained rows since a moment.

    Network rows loaded after a CRM row was read could match it; without this the row would wait
    for its next change in Dynamics. Only unmatched rows are looked at, a page of 5,000 at a time
    with the same per-page queries as a read; returns how many now match.
    """
    grew = Member.objects.filter(created_at__gte=network_changed_since).exists() or (
        Company.objects.filter(created_at__gte=network_changed_since).exists()
    )
    if not grew:
        return 0
    context = ReadContext(contract_id=contract_id)
    matched = 0
    for table, target in ((ACCOUNTS, "company"), (CONTACTS, "member")):
        unmatched = table.model.objects.filter(contract_id=contract_id, **{target: None})
        last_pk = 0
        while page := list(unmatched.filter(pk__gt=last_pk).order_by("pk")[:REMATCH_PAGE]):
            last_pk = page[-1].pk
            table.match(page, context)
            found = [row for row in page if row.match_method]
            table.model.objects.bulk_update(found, [target, "match_method"], batch_size=1000)
            matched += len(found)
    return matched
