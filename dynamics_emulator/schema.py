"""The tables and columns the emulated org has: one `Table` per Dataverse table.

This is the emulator's single source of truth about shape. Reads validate `$select`/`$filter`
against it, writes validate bodies and `@odata.bind` navigation properties against it, and
`metadata.py` renders it as EntityDefinitions JSON and CSDL.

Names follow Dataverse: a lookup column `parentcustomerid` is read as `_parentcustomerid_value`
(its *wire name*) and written through navigation properties such as `parentcustomerid_account`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from demodata import words

LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
NUMBER_TYPES = frozenset({"Integer", "BigInt", "Decimal", "Double", "Money", "Picklist", "State",
                          "Status"})
TEXT_TYPES = frozenset({"String", "Memo", "EntityName"})

_METADATA_NAMESPACE = uuid.UUID("3a0f2d5c-71b4-4e8a-9c6d-2b1e0f4a7d93")


def metadata_id(*parts: str) -> str:
    """A stable MetadataId for a table or column."""
    return str(uuid.uuid5(_METADATA_NAMESPACE, ":".join(parts)))


@dataclass(frozen=True)
class Option:
    """One choice value. `state` is set on statuscode options, `default_status` on statecode."""

    value: int
    label: str
    state: int | None = None
    default_status: int | None = None


@dataclass(frozen=True)
class Attribute:
    """A column. `navs` maps each lookup target to its single-valued navigation property."""

    name: str
    type: str
    label: str
    max_length: int | None = None
    options: tuple[Option, ...] = ()
    option_set: str | None = None
    global_option_set: bool = False
    navs: tuple[tuple[str, str], ...] = ()  # (navigation property, target logical name)
    custom: bool = False
    writable: bool = True
    date_only: bool = False
    base_of: str | None = None  # for money `x_base` columns: the column `x`
    description: str = ""

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def wire_name(self) -> str:
        """The name a read returns this column under."""
        return f"_{self.name}_value" if self.is_lookup else self.name

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(target for _, target in self.navs)

    def option_label(self, value) -> str | None:
        for option in self.options:
            if option.value == value:
                return option.label
        return None


@dataclass(frozen=True)
class Navigation:
    """A single-valued navigation property: binding it sets `attribute` to a row of `target`."""

    name: str
    attribute: Attribute
    target: str


@dataclass
class Table:
    """A Dataverse table with its columns and navigation properties."""

    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    object_type_code: int
    label: str
    collection_label: str
    attributes: list[Attribute]
    is_activity: bool = False
    ownership: str = "UserOwned"
    custom: bool = False
    solution: str = "core"  # "core" or "linkedin"
    change_tracking: bool = False  # the default; the control endpoint can switch it
    description: str = ""
    by_name: dict[str, Attribute] = field(default_factory=dict, repr=False)
    by_wire: dict[str, Attribute] = field(default_factory=dict, repr=False)
    navigations: dict[str, Navigation] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for attribute in self.attributes:
            self.by_name[attribute.name] = attribute
            self.by_wire[attribute.wire_name] = attribute
            for nav_name, target in attribute.navs:
                self.navigations[nav_name] = Navigation(nav_name, attribute, target)

    @property
    def party_list(self) -> str | None:
        """The collection navigation property holding an activity's parties (from, to...)."""
        return f"{self.logical_name}_activity_parties" if self.is_activity else None

    @property
    def type_name(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.logical_name}"

    def state_options(self) -> tuple[Option, ...]:
        attribute = self.by_name.get("statecode")
        return attribute.options if attribute else ()

    def default_status(self, state: int) -> int | None:
        for option in self.state_options():
            if option.value == state:
                return option.default_status
        return None

    def status_state(self, status: int) -> int | None:
        """The statecode a statuscode value belongs to (None: not a valid status)."""
        attribute = self.by_name.get("statuscode")
        for option in attribute.options if attribute else ():
            if option.value == status:
                return option.state
        return None

    def nav_for(self, attribute: str, target: str) -> str | None:
        """The navigation property that binds `attribute` to a row of `target`."""
        for nav_name, nav_target in self.by_name[attribute].navs:
            if nav_target == target:
                return nav_name
        return None


# -- builders -------------------------------------------------------------------------------------


def _string(name, label, max_length, **kw) -> Attribute:
    return Attribute(name, "String", label, max_length=max_length, **kw)


def _memo(name, label, max_length, **kw) -> Attribute:
    return Attribute(name, "Memo", label, max_length=max_length, **kw)


def _lookup(name, label, target, **kw) -> Attribute:
    return Attribute(name, "Lookup", label, navs=((name, target),), **kw)


def _choice(name, label, option_set, pairs, **kw) -> Attribute:
    options = tuple(Option(value, text) for value, text in pairs)
    return Attribute(name, "Picklist", label, options=options, option_set=option_set, **kw)


def _boolean(name, label, false_label="No", true_label="Yes", **kw) -> Attribute:
    options = (Option(0, false_label), Option(1, true_label))
    return Attribute(name, "Boolean", label, options=options, **kw)


def _money(name, label, **kw) -> list[Attribute]:
    return [
        Attribute(name, "Money", label, **kw),
        Attribute(f"{name}_base", "Money", f"{label} (Base)", writable=False, base_of=name,
                  custom=kw.get("custom", False)),
    ]


def _exchange_rate() -> Attribute:
    """A financial row's rate to the base currency, set by the platform from its currency."""
    return Attribute("exchangerate", "Decimal", "Exchange Rate", writable=False,
                     description="Exchange rate for the currency associated with the record "
                                 "with respect to the base currency.")


def _state(entity, states) -> Attribute:
    """statecode options from (value, label, default status) triples."""
    options = tuple(Option(value, text, default_status=status) for value, text, status in states)
    return Attribute("statecode", "State", "Status", options=options,
                     option_set=f"{entity}_statecode")


def _status(entity, statuses) -> Attribute:
    """statuscode options from (value, label, state) triples."""
    options = tuple(Option(value, text, state=state) for value, text, state in statuses)
    return Attribute("statuscode", "Status", "Status Reason", options=options,
                     option_set=f"{entity}_statuscode")


def _id(name, label) -> Attribute:
    return Attribute(name, "Uniqueidentifier", label)


def _audit() -> list[Attribute]:
    """Who and when columns every table has; the platform sets them."""
    return [
        Attribute("createdon", "DateTime", "Created On", writable=False),
        Attribute("modifiedon", "DateTime", "Modified On", writable=False),
        _lookup("createdby", "Created By", "systemuser", writable=False),
        _lookup("modifiedby", "Modified By", "systemuser", writable=False),
        _lookup("createdonbehalfby", "Created By (Delegate)", "systemuser", writable=False),
        _lookup("modifiedonbehalfby", "Modified By (Delegate)", "systemuser", writable=False),
        Attribute("versionnumber", "BigInt", "Version Number", writable=False),
    ]


def _owned() -> list[Attribute]:
    """Ownership columns of user-owned tables (teams are not emulated)."""
    return [Attribute("ownerid", "Owner", "Owner", navs=(("ownerid", "systemuser"),))]


def _customer(name, label, entity_suffix="") -> Attribute:
    navs = tuple((f"{name}_{target}{entity_suffix}", target) for target in ("account", "contact"))
    return Attribute(name, "Customer", label, navs=navs)


_ACTIVE_STATES = ((0, "Active", 1), (1, "Inactive", 2))
_ACTIVE_STATUSES = ((1, "Active", 0), (2, "Inactive", 1))
_PRIORITY = ((0, "Low"), (1, "Normal"), (2, "High"))
_REGARDING_TARGETS = ("account", "contact", "lead", "opportunity")


def _activity(entity, label, collection_label, otc, states, statuses, *, custom=False,
              solution="core") -> Table:
    regarding = Attribute(
        "regardingobjectid", "Lookup", "Regarding",
        navs=tuple((f"regardingobjectid_{target}_{entity}", target)
                   for target in _REGARDING_TARGETS),
    )
    attributes = [
        _id("activityid", label),
        _string("subject", "Subject", 200),
        _memo("description", "Description", 2000),
        Attribute("scheduledstart", "DateTime", "Start Date"),
        Attribute("scheduledend", "DateTime", "Due Date"),
        Attribute("actualstart", "DateTime", "Actual Start"),
        Attribute("actualend", "DateTime", "Actual End"),
        Attribute("actualdurationminutes", "Integer", "Actual Duration"),
        _choice("prioritycode", "Priority", f"{entity}_prioritycode", _PRIORITY),
        Attribute("activitytypecode", "EntityName", "Activity Type", writable=False),
        regarding,
        _state(entity, states),
        _status(entity, statuses),
        *_owned(),
        *_audit(),
    ]
    return Table(entity, f"{entity}s", "activityid", "subject", otc, label, collection_label,
                 attributes, is_activity=True, custom=custom, solution=solution)


def _build_tables() -> list[Table]:
    account = Table(
        "account", "accounts", "accountid", "name", 1, "Account", "Accounts",
        [
            _id("accountid", "Account"),
            _string("name", "Account Name", 160),
            _string("accountnumber", "Account Number", 20),
            _string("websiteurl", "Website", 200),
            _string("telephone1", "Main Phone", 50),
            _string("emailaddress1", "Email", 100),
            _string("address1_city", "Address 1: City", 80),
            _string("address1_country", "Address 1: Country/Region", 80),
            _choice("industrycode", "Industry", "account_industrycode", words.INDUSTRIES),
            Attribute("numberofemployees", "Integer", "Number of Employees"),
            *_money("revenue", "Annual Revenue"),
            _exchange_rate(),
            _memo("description", "Description", 2000),
            _lookup("parentaccountid", "Parent Account", "account"),
            _lookup("primarycontactid", "Primary Contact", "contact"),
            _lookup("transactioncurrencyid", "Currency", "transactioncurrency"),
            _state("account", _ACTIVE_STATES),
            _status("account", _ACTIVE_STATUSES),
            *_owned(),
            *_audit(),
        ],
        change_tracking=True,
    )
    contact = Table(
        "contact", "contacts", "contactid", "fullname", 2, "Contact", "Contacts",
        [
            _id("contactid", "Contact"),
            _string("firstname", "First Name", 50),
            _string("lastname", "Last Name", 50),
            _string("fullname", "Full Name", 160, writable=False),
            _string("emailaddress1", "Email", 100),
            _string("jobtitle", "Job Title", 100),
            _string("telephone1", "Business Phone", 50),
            _string("mobilephone", "Mobile Phone", 50),
            _memo("description", "Description", 2000),
            _customer("parentcustomerid", "Company Name"),
            _state("contact", _ACTIVE_STATES),
            _status("contact", _ACTIVE_STATUSES),
            *_owned(),
            *_audit(),
        ],
        change_tracking=True,
    )
    lead = Table(
        "lead", "leads", "leadid", "fullname", 4, "Lead", "Leads",
        [
            _id("leadid", "Lead"),
            _string("subject", "Topic", 300),
            _string("firstname", "First Name", 50),
            _string("lastname", "Last Name", 50),
            _string("fullname", "Name", 160, writable=False),
            _string("companyname", "Company Name", 100),
            _string("emailaddress1", "Email", 100),
            _string("jobtitle", "Job Title", 100),
            _string("telephone1", "Business Phone", 50),
            _memo("description", "Description", 2000),
            _lookup("parentaccountid", "Parent Account for lead", "account"),
            _lookup("parentcontactid", "Parent Contact for lead", "contact"),
            _state("lead", ((0, "Open", 1), (1, "Qualified", 3), (2, "Disqualified", 4))),
            _status("lead", ((1, "New", 0), (2, "Contacted", 0), (3, "Qualified", 1),
                             (4, "Lost", 2), (5, "Cannot Contact", 2),
                             (6, "No Longer Interested", 2), (7, "Canceled", 2))),
            *_owned(),
            *_audit(),
        ],
    )
    opportunity = Table(
        "opportunity", "opportunities", "opportunityid", "name", 3, "Opportunity",
        "Opportunities",
        [
            _id("opportunityid", "Opportunity"),
            _string("name", "Topic", 300),
            _memo("description", "Description", 2000),
            _choice("salesstage", "Sales Stage", "opportunity_salesstage",
                    ((0, "Qualify"), (1, "Develop"), (2, "Propose"), (3, "Close")),
                    global_option_set=True),
            _choice("salesstagecode", "Process Code", "opportunity_salesstagecode",
                    ((1, "Default Value"),)),
            _string("stepname", "Pipeline Phase", 200,
                    description="Shows the current phase in the sales pipeline."),
            *_money("estimatedvalue", "Est. Revenue"),
            *_money("actualvalue", "Actual Revenue"),
            *_money("new_wonamount", "Won Amount", custom=True),
            _exchange_rate(),
            Attribute("closeprobability", "Integer", "Probability"),
            Attribute("estimatedclosedate", "DateTime", "Est. Close Date", date_only=True),
            Attribute("actualclosedate", "DateTime", "Actual Close Date", date_only=True),
            _choice("msdyn_forecastcategory", "Forecast Category",
                    "msdyn_opportunity_msdyn_forecastcategory",
                    ((100000001, "Pipeline"), (100000002, "Best case"), (100000003, "Committed"),
                     (100000004, "Omitted"), (100000005, "Won"), (100000006, "Lost"))),
            _customer("customerid", "Potential Customer"),
            _lookup("parentaccountid", "Account", "account"),
            _lookup("parentcontactid", "Contact", "contact"),
            _lookup("transactioncurrencyid", "Currency", "transactioncurrency"),
            _state("opportunity", ((0, "Open", 1), (1, "Won", 3), (2, "Lost", 4))),
            _status("opportunity", ((1, "In Progress", 0), (2, "On Hold", 0), (3, "Won", 1),
                                    (4, "Canceled", 2), (5, "Out-Sold", 2))),
            *_owned(),
            *_audit(),
        ],
        change_tracking=True,
    )
    systemuser = Table(
        "systemuser", "systemusers", "systemuserid", "fullname", 8, "User", "Users",
        [
            _id("systemuserid", "User"),
            _string("fullname", "Full Name", 200, writable=False),
            _string("firstname", "First Name", 64),
            _string("lastname", "Last Name", 64),
            _string("internalemailaddress", "Primary Email", 100),
            _string("domainname", "User Name", 1024),
            _string("title", "Title", 128),
            _id("azureactivedirectoryobjectid", "Azure AD Object ID"),
            _id("applicationid", "Application ID"),
            _boolean("isdisabled", "User Status", "Enabled", "Disabled", writable=False),
            _choice("accessmode", "Access Mode", "systemuser_accessmode",
                    ((0, "Read-Write"), (1, "Administrative"), (2, "Read"), (3, "Support User"),
                     (4, "Non-interactive"), (5, "Delegated Admin"))),
            _lookup("businessunitid", "Business Unit", "businessunit"),
            *_audit(),
        ],
        ownership="BusinessOwned",
        change_tracking=True,
    )
    task = _activity(
        "task", "Task", "Tasks", 4212,
        ((0, "Open", 2), (1, "Completed", 5), (2, "Canceled", 6)),
        ((2, "Not Started", 0), (3, "In Progress", 0), (4, "Waiting on someone else", 0),
         (7, "Deferred", 0), (5, "Completed", 1), (6, "Canceled", 2)),
    )
    li_states = ((0, "Open", 1), (1, "Completed", 2), (2, "Canceled", 3), (3, "Scheduled", 4))
    li_statuses = ((1, "Open", 0), (2, "Completed", 1), (3, "Canceled", 2), (4, "Scheduled", 3))
    li_inmail = _activity("li_inmail", "inMail", "inMails", 10200, li_states, li_statuses,
                          custom=True, solution="linkedin")
    li_message = _activity("li_message", "Message", "Messages", 10201, li_states, li_statuses,
                           custom=True, solution="linkedin")
    annotation = Table(
        "annotation", "annotations", "annotationid", "subject", 5, "Note", "Notes",
        [
            _id("annotationid", "Note"),
            _string("subject", "Title", 500),
            _memo("notetext", "Description", 100_000),
            _boolean("isdocument", "Is Document"),
            _string("filename", "File Name", 255),
            _string("mimetype", "Mime Type", 256),
            _memo("documentbody", "Document", 1_073_741_823),
            Attribute("objecttypecode", "EntityName", "Object Type", writable=False),
            Attribute("objectid", "Lookup", "Regarding",
                      navs=tuple((f"objectid_{target}", target) for target in _REGARDING_TARGETS)),
            *_owned(),
            *_audit(),
        ],
    )
    # "Currency in which a financial transaction is carried out" (the TransactionCurrency table
    # reference): organization-owned, one row per currency the org uses.
    transactioncurrency = Table(
        "transactioncurrency", "transactioncurrencies", "transactioncurrencyid", "currencyname",
        9105, "Currency", "Currencies",
        [
            _id("transactioncurrencyid", "Transaction Currency"),
            _string("currencyname", "Currency Name", 100),
            _string("isocurrencycode", "Currency Code", 5),
            _string("currencysymbol", "Currency Symbol", 10),
            Attribute("currencyprecision", "Integer", "Currency Precision"),
            Attribute("exchangerate", "Decimal", "Exchange Rate",
                      description="Exchange rate between the transaction currency and the base "
                                  "currency."),
            _choice("currencytype", "Currency Type", "transactioncurrency_currencytype",
                    ((0, "System"), (1, "Custom"))),
            _lookup("organizationid", "Organization", "organization", writable=False),
            _state("transactioncurrency", _ACTIVE_STATES),
            _status("transactioncurrency", _ACTIVE_STATUSES),
            *_audit(),
        ],
        ownership="OrganizationOwned",
        change_tracking=True,
    )
    return [account, contact, lead, opportunity, systemuser, task, annotation, li_inmail,
            li_message, transactioncurrency]


TABLES: list[Table] = _build_tables()
TABLES_BY_NAME: dict[str, Table] = {table.logical_name: table for table in TABLES}
TABLES_BY_SET: dict[str, Table] = {table.entity_set: table for table in TABLES}
LINKEDIN_TABLES = tuple(t.logical_name for t in TABLES if t.solution == "linkedin")

# Lookup targets that are not emulated as tables (their ids are still returned in reads).
UNEMULATED_TARGETS = {"businessunit": "Business Unit", "organization": "Organization"}

# Parties of an activity: `partyid_<target>@odata.bind` in `<entity>_activity_parties`, with a
# participationtypemask (1 From, 2 To, 3 CC, 4 BCC, 5 Required, 6 Optional, 7 Organizer...).
PARTY_TARGETS = ("systemuser", "contact", "account", "lead")
