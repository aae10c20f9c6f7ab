"""*Check connection* and ``manage.py crm_doctor``: every read-only check the import and the
writeback need, run against the connected org, as a pass/fail list with a next step per failure.

It never writes to Dynamics: every request is a GET (table definitions, one row per table,
``RetrieveUserPrivileges``, an impersonated ``WhoAmI``), so it is safe to run at any time, on
any org. It writes nothing to the database but what every client stores (the refreshed sign-in
and the API budget reading); the result is shown, not stored.

The checks, in order (a failed sign-in stops the rest, which all need it):

1. Sign in: a token for the stored sign-in, and ``WhoAmI``.
2. Per table the import reads (users, currencies, accounts, contacts, opportunities): its
   definition can be read, and one row of it can be read.
3. Change tracking on each table the incremental import reads by delta (``TRACKED_TABLES``).
4. The metadata CRM Settings offers from: the opportunity's sales stages and money columns.
5. The LinkedIn Sales Navigator solution's activity tables (writeback needs them).
6. The connecting user's privileges (``RetrieveUserPrivileges``), per feature
   (``PRIVILEGES``): reads at organization level for the import, create/write/append/delete on
   the activity tables for writeback, create on contacts and leads for *Create record in CRM*.
7. Impersonation: a ``WhoAmI`` on behalf of another user answers as that user.

Failures carry the guide's message and next step where the guide has one (``messages``).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from crm_settings.connect import REQUIRED_TABLES, impersonation_allowed
from crm_settings.crm import connection_unusable, open_client
from crm_settings.messages import AdminMessage, admin_message, admin_message_for
from crm_settings.models import CrmConnection
from dynamics import DynamicsClient, DynamicsError
from dynamics.metadata import LINKEDIN_TABLES
from dynamics.privileges import depth_rank

# What the import reads, by logical name: (entity set, primary key, label). Currencies are one
# small page, read in full each time; the other four are read by delta when tracked.
IMPORT_TABLES = {
    **{name: (entity_set, key) for name, (entity_set, key) in REQUIRED_TABLES.items()},
    "transactioncurrency": ("transactioncurrencies", "transactioncurrencyid"),
}
TABLE_LABELS = {
    "systemuser": "Users",
    "transactioncurrency": "Currencies",
    "account": "Accounts",
    "contact": "Contacts",
    "opportunity": "Opportunities",
}
TRACKED_TABLES = ("systemuser", "account", "contact", "opportunity")
# Each table's display name in Power Apps > Tables, where an admin turns tracking on.
POWER_APPS_NAMES = {
    "systemuser": "User",
    "account": "Account",
    "contact": "Contact",
    "opportunity": "Opportunity",
}

# Privilege names as Dataverse spells them (compared without case): prv<Action><schema name>,
# where users are "User" and the built-in activities (task) share the "Activity" privileges.
_IMPORT_READS = (
    "prvReadUser",
    "prvReadTransactionCurrency",
    "prvReadAccount",
    "prvReadContact",
    "prvReadOpportunity",
)
_WRITEBACK_TABLES = ("Activity", *LINKEDIN_TABLES)  # notes are tasks; InMails, messages li_*
_WRITEBACK = tuple(
    f"prv{action}{table}"
    for table in _WRITEBACK_TABLES
    for action in ("Create", "Write", "Append", "Delete")
) + ("prvReadLead", "prvAppendToContact", "prvAppendToLead", "prvAppendToAccount")


@dataclass(frozen=True)
class PrivilegeNeed:
    """What one feature needs the connecting user to hold."""

    feature: str
    names: tuple[str, ...]
    # Reads the import makes of every row (change tracking too) need organization-level depth.
    organization_level: bool = False
    # Privileges of the LinkedIn tables exist only while the solution is installed.
    needs_solution: bool = False


PRIVILEGES = (
    PrivilegeNeed("the import", _IMPORT_READS, organization_level=True),
    PrivilegeNeed("writeback", _WRITEBACK, needs_solution=True),
    PrivilegeNeed("Create record in CRM", ("prvCreateContact", "prvCreateLead")),
)

TRACKING_NEXT_STEP = (
    "In Power Apps, open Tables > {label} > Properties > Advanced options, select Track "
    "changes and save. Until then every sync reads this table by modified date, and rows "
    "deleted in the CRM are only noticed by the daily full read."
)
SOLUTION_MESSAGE = (
    "Writeback needs the LinkedIn Sales Navigator for Dynamics app, installed in Dynamics by a "
    "Dynamics Administrator."
)
SOLUTION_NEXT_STEP = (
    "Select Get it now under Enabling Activity Writeback (Microsoft AppSource). Once the "
    "installation has completed within Dynamics, select Refresh from CRM."
)
IMPERSONATION_MESSAGE = (
    "The connecting user cannot act on behalf of seat holders, so Dynamics lists it as creator "
    "of every written-back activity (the seat holder stays the owner)."
)
IMPERSONATION_NEXT_STEP = (
    "Give the connecting user's security role the Act on Behalf of Another User privilege "
    "(Business Management tab, Miscellaneous Privileges), ideally on an Integration User, then "
    "check again."
)


@dataclass(frozen=True)
class Check:
    """One check's outcome: on failure, what is wrong and what to do next."""

    name: str
    ok: bool
    detail: str = ""
    problem: AdminMessage | None = None

    @property
    def message(self) -> str:
        return self.problem.message if self.problem else ""

    @property
    def next_step(self) -> str:
        return self.problem.next_step if self.problem else ""


@dataclass
class CheckReport:
    """Every check run for one connection, in order."""

    environment_url: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


def connection_check(*, connection: CrmConnection) -> CheckReport:
    """Run every read-only check against the connection's org (module docstring)."""
    report = CheckReport(environment_url=connection.environment_url)
    unusable = connection_unusable(connection)
    if unusable is not None:
        report.checks.append(_failed("Sign in to Dynamics", unusable))
        return report
    try:
        with open_client(connection, interactive=True) as client:
            _run(client, report, name=connection.crm_user_name)
    except DynamicsError as error:  # opening or closing the client itself failed
        report.checks.append(_failed("Sign in to Dynamics", error))
    return report


def _run(client: DynamicsClient, report: CheckReport, *, name: str) -> None:
    checks = report.checks
    try:
        who = client.whoami()
    except DynamicsError as error:
        checks.append(_failed("Sign in to Dynamics", error))
        return
    user_id = who["UserId"]
    checks.append(Check("Sign in to Dynamics", True, f"Signed in as {name or user_id}."))

    tracking: dict[str, bool | None] = {}
    for logical_name, (entity_set, key) in IMPORT_TABLES.items():
        label = TABLE_LABELS[logical_name]
        definition = _attempt(
            checks,
            f"{label}: table definition",
            lambda n=logical_name: client.entity_definition(
                n, select=["LogicalName", "ChangeTrackingEnabled"]
            ),
            lambda _: "Readable.",
        )
        if definition is not None:
            tracking[logical_name] = definition.get("ChangeTrackingEnabled") is True
        _attempt(
            checks,
            f"{label}: read rows",
            lambda s=entity_set, k=key: next(client.iter_pages(s, select=[k], top=1)),
            lambda _: "Readable.",
        )
    for logical_name in TRACKED_TABLES:
        if logical_name not in tracking:
            continue  # its definition could not be read: already reported
        label = TABLE_LABELS[logical_name]
        if tracking[logical_name]:
            checks.append(Check(f"{label}: change tracking", True, "On."))
        else:
            checks.append(
                Check(
                    f"{label}: change tracking",
                    False,
                    "Off: the import cannot read this table's changes incrementally.",
                    AdminMessage(
                        message=f"Change tracking is off for {label.lower()}.",
                        next_step=TRACKING_NEXT_STEP.format(label=POWER_APPS_NAMES[logical_name]),
                    ),
                )
            )

    _attempt(
        checks,
        "Opportunity sales stages and money fields",
        lambda: (
            client.picklist_options("opportunity", "salesstage"),
            client.money_columns("opportunity"),
        ),
        lambda found: f"{len(found[0])} sales stages, {len(found[1])} money fields.",
    )

    solution = _attempt(
        checks,
        "LinkedIn Sales Navigator solution",
        client.linkedin_solution_installed,
        lambda installed: "Installed." if installed else "",
    )
    if solution is False:
        checks[-1] = Check(
            "LinkedIn Sales Navigator solution",
            False,
            f"Its activity tables ({', '.join(LINKEDIN_TABLES)}) are not in this environment.",
            AdminMessage(message=SOLUTION_MESSAGE, next_step=SOLUTION_NEXT_STEP),
        )

    held = _attempt(
        checks,
        "Read the connecting user's privileges",
        lambda: client.user_privileges(user_id),
        lambda found: f"{len(found)} privileges.",
    )
    if held is not None:
        checks.pop()  # the per-feature checks below say what matters
        held_lower = {name.lower(): depth for name, depth in held.items()}
        for need in PRIVILEGES:
            checks.append(_privilege_check(need, held_lower, solution_installed=solution is True))

    allowed = _attempt(
        checks,
        "Act on behalf of seat holders",
        lambda: impersonation_allowed(client, user_id=user_id),
        lambda can: (
            "Allowed: written-back activities list the seat holder as creator." if can else ""
        ),
    )
    if allowed is False:
        checks[-1] = Check(
            "Act on behalf of seat holders",
            False,
            "A WhoAmI sent on behalf of another user was refused (prvActOnBehalfOfAnotherUser).",
            AdminMessage(message=IMPERSONATION_MESSAGE, next_step=IMPERSONATION_NEXT_STEP),
        )


def _attempt(checks: list[Check], name: str, call: Callable, describe: Callable):
    """Run one check's read; record it passed (``describe(result)``) or failed; return the
    result, or None when it failed."""
    try:
        result = call()
    except DynamicsError as error:
        checks.append(_failed(name, error))
        return None
    checks.append(Check(name, True, describe(result)))
    return result


def _failed(name: str, error: DynamicsError) -> Check:
    problem = admin_message_for(error)
    return Check(name, False, problem.detail, problem)


def _privilege_check(need: PrivilegeNeed, held: dict[str, str], *, solution_installed: bool):
    name = f"Privileges for {need.feature}"
    wanted = [
        privilege
        for privilege in need.names
        if solution_installed
        or not need.needs_solution
        or not any(table in privilege for table in LINKEDIN_TABLES)
    ]
    missing = [privilege for privilege in wanted if privilege.lower() not in held]
    shallow = [
        f"{privilege} ({held[privilege.lower()]})"
        for privilege in wanted
        if need.organization_level
        and privilege.lower() in held
        and depth_rank(held[privilege.lower()]) < depth_rank("Global")
    ]
    if not missing and not shallow:
        return Check(name, True, f"All {len(wanted)} held.")
    parts = []
    if missing:
        parts.append(f"Missing: {', '.join(missing)}.")
    if shallow:
        parts.append(f"Below organization level: {', '.join(shallow)}.")
    return Check(name, False, " ".join(parts), admin_message("privilege", " ".join(parts)))
