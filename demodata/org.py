"""A deterministic Dynamics 365 org: system users, currencies, accounts, contacts, leads and
opportunities.

`generate_org(size, seed)` returns an `Org` whose rows are plain dicts in Dataverse Web API column
names (`name`, `_ownerid_value`, ...). Same size and seed give identical ids and rows: ids are
uuid5 of (seed, kind, index) and every table draws from its own `random.Random` seeded with a
string, which Python hashes with SHA-512, so the sequence does not depend on PYTHONHASHSEED.

Big tables are streamed: `org.contacts` is re-iterable and yields one dict at a time, so a `huge`
org (350k rows) never sits in memory. Only small per-row plans (account names and domains, which
account each contact belongs to) are held as lists.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import words

EMAIL_DOMAIN = "contoso-demo.com"
ORG_NAME = "Contoso Demo"

# Every generated id lives under this namespace; changing it changes every id.
_ID_NAMESPACE = uuid.UUID("6f1d8c3e-4b7a-4f0e-9a51-3c2d7e8f9a10")

# Seeded rows are stamped inside this window so that they never depend on today's date.
_EPOCH = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
_WINDOW_DAYS = 900

# The org's currencies: (ISO code, name, symbol, exchange rate, share of opportunities). The first
# is the base currency; a rate is "the value of a transaction currency equal to one base
# currency" (Dataverse), so 1 US Dollar buys 0.92 Euro.
CURRENCIES = (
    ("USD", "US Dollar", "$", 1.0, 80),
    ("EUR", "Euro", "€", 0.92, 12),
    ("GBP", "Pound Sterling", "£", 0.79, 8),
)


@dataclass(frozen=True)
class DemoUser:
    """A named person in the demo org. `seat` says whether the portal demo gives them a seat."""

    email: str
    fullname: str
    role: str  # "integration" | "admin" | "sales" | "readonly"
    seat: bool
    title: str
    disabled: bool = False
    # systemuser.accessmode: 0 Read-Write (a person), 4 Non-interactive (an integration account
    # that uses the API only, as Microsoft advises for integration users).
    access_mode: int = 0


@dataclass(frozen=True)
class DemoApp:
    """The registered Entra application the portal signs in with, and its application user."""

    client_id: str
    client_secret: str
    name: str
    email: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(f"integration@{EMAIL_DOMAIN}", "Integration User", "integration", False,
             "Integration account", access_mode=4),
    DemoUser(f"admin@{EMAIL_DOMAIN}", "Dana Admin", "admin", True, "Sales Operations Lead"),
    DemoUser(f"alex.morgan@{EMAIL_DOMAIN}", "Alex Morgan", "sales", True, "Account Executive"),
    DemoUser(f"priya.shah@{EMAIL_DOMAIN}", "Priya Shah", "sales", True, "Account Executive"),
    DemoUser(f"sam.lee@{EMAIL_DOMAIN}", "Sam Lee", "sales", True, "Sales Development Rep"),
    DemoUser(f"maria.garcia@{EMAIL_DOMAIN}", "Maria Garcia", "sales", True,
             "Senior Account Executive"),
    DemoUser(f"tom.becker@{EMAIL_DOMAIN}", "Tom Becker", "sales", True, "Regional Sales Manager"),
    DemoUser(f"jordan.kim@{EMAIL_DOMAIN}", "Jordan Kim", "sales", False, "Account Executive"),
    DemoUser(f"lee.chen@{EMAIL_DOMAIN}", "Lee Chen", "sales", False, "Sales Development Rep"),
    DemoUser(f"chris.former@{EMAIL_DOMAIN}", "Chris Former", "sales", False,
             "Account Executive (left)", disabled=True),
    DemoUser(f"readonly@{EMAIL_DOMAIN}", "Riley Readonly", "readonly", False, "Finance Analyst"),
)

DEMO_APP = DemoApp(
    client_id="crm-sync-portal-demo",
    client_secret="demo-secret-not-for-production",
    name="Portal Integration App",
    email=f"portal-integration-app@{EMAIL_DOMAIN}",
)


@dataclass(frozen=True)
class Size:
    """How many rows of each kind an org of this size holds (users beyond the named ones)."""

    extra_users: int
    accounts: int
    contacts: int
    opportunities: int
    leads: int


SIZES: dict[str, Size] = {
    "demo": Size(extra_users=0, accounts=120, contacts=400, opportunities=250, leads=40),
    "small": Size(extra_users=0, accounts=500, contacts=2_000, opportunities=1_000, leads=100),
    "medium": Size(extra_users=90, accounts=5_000, contacts=20_000, opportunities=10_000,
                   leads=1_000),
    "large": Size(extra_users=290, accounts=20_000, contacts=80_000, opportunities=40_000,
                  leads=4_000),
    "huge": Size(extra_users=1_000, accounts=50_000, contacts=200_000, opportunities=100_000,
                 leads=10_000),
}

SALES_STAGES = ((0, "Qualify"), (1, "Develop"), (2, "Propose"), (3, "Close"))


def make_id(seed: int, kind: str, index: int) -> str:
    """The deterministic id of row `index` of `kind` in the org generated with `seed`."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{seed}:{kind}:{index}"))


def stamp(moment: dt.datetime) -> str:
    """Dataverse's DateTime wire format: UTC, whole seconds, a trailing Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def slug(text: str) -> str:
    """Lower-case ASCII words joined by hyphens, for URLs and domains."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class RowStream:
    """A re-iterable, sized sequence of generated rows; each iteration regenerates them."""

    def __init__(self, count: int, generate: Callable[[], Iterator[dict]]):
        self._count = count
        self._generate = generate

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[dict]:
        return self._generate()


@dataclass(frozen=True)
class _AccountPlan:
    """The parts of each account that other tables need: name, domain and owner."""

    names: list[str]
    domains: list[str]
    owners: list[int]  # index into Org.users


class Org:
    """A generated org. Iterate `users`, `accounts`, `contacts`, `leads`, `opportunities`."""

    def __init__(self, size: str, seed: int = 42):
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
        self.size = size
        self.seed = seed
        self.counts = SIZES[size]
        self.org_name = ORG_NAME
        self.unique_name = "contosodemo"
        self.email_domain = EMAIL_DOMAIN
        self.tenant_id = make_id(seed, "tenant", 0)
        self.organization_id = make_id(seed, "organization", 0)
        self.business_unit_id = make_id(seed, "businessunit", 0)
        # The base currency; the others follow it in CURRENCIES' order.
        self.currency_id = make_id(seed, "transactioncurrency", 0)
        self.app = DEMO_APP
        self.users, self.user_roles = self._make_users()
        self.accounts = RowStream(self.counts.accounts, self._generate_accounts)
        self.contacts = RowStream(self.counts.contacts, self._generate_contacts)
        self.leads = RowStream(self.counts.leads, self._generate_leads)
        self.opportunities = RowStream(self.counts.opportunities, self._generate_opportunities)

    # -- helpers -------------------------------------------------------------------------------

    def _id(self, kind: str, index: int) -> str:
        return make_id(self.seed, kind, index)

    def _rng(self, purpose: str) -> random.Random:
        return random.Random(f"demodata:{self.seed}:{self.size}:{purpose}")

    def tables(self) -> list[tuple[str, RowStream | list[dict]]]:
        """(logical name, rows) for every seeded table, users first (others refer to them)."""
        return [
            ("systemuser", self.users),
            ("transactioncurrency", self.currencies),
            ("account", self.accounts),
            ("contact", self.contacts),
            ("lead", self.leads),
            ("opportunity", self.opportunities),
        ]

    def total_rows(self) -> int:
        return sum(len(rows) for _, rows in self.tables())

    def user_id(self, email: str) -> str:
        """The systemuserid of the user with this email (KeyError if there is none)."""
        for user in self.users:
            if user["internalemailaddress"] == email:
                return user["systemuserid"]
        raise KeyError(email)

    # -- system users --------------------------------------------------------------------------

    def _make_users(self) -> tuple[list[dict], dict[str, str]]:
        rng = self._rng("users")
        people: list[tuple[str, str, str, str, bool, str]] = []  # first, last, email, title...
        access_modes = {demo.email: demo.access_mode for demo in DEMO_USERS}
        for demo in DEMO_USERS:
            first, _, last = demo.fullname.partition(" ")
            people.append((first, last, demo.email, demo.title, demo.disabled, demo.role))
        seen = {p[2] for p in people}
        for index in range(self.counts.extra_users):
            first = rng.choice(words.FIRST_NAMES)
            last = rng.choice(words.LAST_NAMES)
            email = f"{slug(first)}.{slug(last)}@{EMAIL_DOMAIN}".replace("-", "")
            if email in seen:
                email = email.replace("@", f"{index}@")
            seen.add(email)
            disabled = rng.random() < 0.03
            people.append((first, last, email, rng.choice(words.JOB_TITLES[6:16]), disabled,
                           "sales"))

        users: list[dict] = []
        roles: dict[str, str] = {}
        for index, (first, last, email, title, disabled, role) in enumerate(people):
            user_id = self._id("systemuser", index)
            created = _EPOCH + dt.timedelta(days=rng.randrange(0, 60), seconds=index)
            users.append({
                "systemuserid": user_id,
                "fullname": f"{first} {last}".strip(),
                "firstname": first,
                "lastname": last,
                "internalemailaddress": email,
                "domainname": email,
                "azureactivedirectoryobjectid": self._id("aad-object", index),
                "isdisabled": disabled,
                "applicationid": None,
                "accessmode": access_modes.get(email, 0),
                "title": title,
                "_businessunitid_value": self.business_unit_id,
                "createdon": stamp(created),
                "modifiedon": stamp(created),
            })
            roles[user_id] = role

        app_index = len(people)
        app_user_id = self._id("systemuser", app_index)
        users.append({
            "systemuserid": app_user_id,
            "fullname": self.app.name,
            "firstname": "",
            "lastname": self.app.name,
            "internalemailaddress": self.app.email,
            "domainname": self.app.email,
            "azureactivedirectoryobjectid": self._id("aad-object", app_index),
            "isdisabled": False,
            "applicationid": str(uuid.uuid5(_ID_NAMESPACE, f"app:{self.app.client_id}")),
            "accessmode": 4,  # Non-interactive
            "title": "Application user",
            "_businessunitid_value": self.business_unit_id,
            "createdon": stamp(_EPOCH),
            "modifiedon": stamp(_EPOCH),
        })
        roles[app_user_id] = "app"
        integration_id = users[0]["systemuserid"]
        for user in users:
            user["_createdby_value"] = integration_id
            user["_modifiedby_value"] = integration_id
        return users, roles

    @functools.cached_property
    def _owner_pool(self) -> tuple[list[int], list[float]]:
        """Indexes of users who own sales rows, with weights favouring the named seat holders."""
        indexes, weights = [], []
        for index, user in enumerate(self.users):
            role = self.user_roles[user["systemuserid"]]
            if role != "sales":
                continue
            named = index < len(DEMO_USERS)
            seat = named and DEMO_USERS[index].seat
            if user["isdisabled"]:
                weight = 0.3
            elif seat:
                weight = 3.0
            else:
                weight = 1.0
            indexes.append(index)
            weights.append(weight)
        return indexes, weights

    def _pick_owner(self, rng: random.Random) -> int:
        indexes, weights = self._owner_pool
        return rng.choices(indexes, weights)[0]

    def _created(self, rng: random.Random) -> tuple[str, str, dt.datetime]:
        created = _EPOCH + dt.timedelta(seconds=rng.randrange(0, _WINDOW_DAYS * 86_400))
        modified = created + dt.timedelta(seconds=rng.randrange(0, 120 * 86_400))
        return stamp(created), stamp(modified), created

    # -- currencies ----------------------------------------------------------------------------

    @functools.cached_property
    def currencies(self) -> list[dict]:
        owner = self.users[0]["systemuserid"]
        return [
            {
                "transactioncurrencyid": self._id("transactioncurrency", index),
                "currencyname": name,
                "isocurrencycode": code,
                "currencysymbol": symbol,
                "currencyprecision": 2,
                "exchangerate": rate,
                "currencytype": 0,
                "_organizationid_value": self.organization_id,
                "statecode": 0,
                "statuscode": 1,
                "_createdby_value": owner,
                "_modifiedby_value": owner,
                "createdon": stamp(_EPOCH),
                "modifiedon": stamp(_EPOCH),
            }
            for index, (code, name, symbol, rate, _) in enumerate(CURRENCIES)
        ]

    # -- accounts ------------------------------------------------------------------------------

    @functools.cached_property
    def account_plan(self) -> _AccountPlan:
        """Unique names and web domains for every account, and who owns it."""
        rng = self._rng("account-names")
        names, domains, owners = [], [], []
        seen_names: set[str] = set()
        seen_domains: set[str] = set()
        for index in range(self.counts.accounts):
            for attempt in range(50):
                prefix = rng.choice(words.COMPANY_PREFIXES)
                core = rng.choice(words.COMPANY_CORES)
                kind = rng.choice(words.COMPANY_KINDS)
                base = f"{prefix} {core}"
                if attempt >= 10:  # the name space is getting crowded: add a place
                    base = f"{prefix} {core} {rng.choice(words.CITIES)[0]}"
                name = f"{base} {kind}".strip()
                if name not in seen_names:
                    break
            else:
                name = f"{base} {index}"
            seen_names.add(name)
            domain = slug(base).replace("-", "") + rng.choice(words.TOP_LEVEL_DOMAINS)
            if domain in seen_domains:
                domain = slug(base).replace("-", "") + f"{index}" + ".com"
            seen_domains.add(domain)
            names.append(name)
            domains.append(domain)
            owners.append(self._pick_owner(rng))
        return _AccountPlan(names, domains, owners)

    def _generate_accounts(self) -> Iterator[dict]:
        plan = self.account_plan
        rng = self._rng("accounts")
        for index in range(self.counts.accounts):
            owner = self.users[plan.owners[index]]["systemuserid"]
            created, modified, _ = self._created(rng)
            city, country = rng.choice(words.CITIES)
            industry = rng.choice(words.INDUSTRIES)[0]
            employees = int(10 ** rng.uniform(1, 5))
            has_website = rng.random() < 0.9
            revenue = float(employees * rng.randrange(80, 400) * 1000)
            yield {
                "accountid": self._id("account", index),
                "name": plan.names[index],
                "accountnumber": f"ACC-{10000 + index}",
                "websiteurl": f"https://www.{plan.domains[index]}" if has_website else None,
                "telephone1": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
                "emailaddress1": f"info@{plan.domains[index]}" if rng.random() < 0.6 else None,
                "address1_city": city,
                "address1_country": country,
                "industrycode": industry,
                "numberofemployees": employees,
                "revenue": revenue,
                "revenue_base": revenue,  # accounts are kept in the base currency
                "exchangerate": 1.0,
                "statecode": 0,
                "statuscode": 1,
                "_ownerid_value": owner,
                "_createdby_value": owner,
                "_modifiedby_value": owner,
                "_transactioncurrencyid_value": self.currency_id,
                "createdon": created,
                "modifiedon": modified,
            }

    # -- contacts ------------------------------------------------------------------------------

    @functools.cached_property
    def contact_accounts(self) -> list[int]:
        """The account index of every contact (-1: no account), grouped by account."""
        rng = self._rng("contact-partition")
        total = self.counts.contacts
        orphans = max(1, total // 33)  # about 3% of contacts belong to no account
        weights = [rng.paretovariate(1.5) for _ in range(self.counts.accounts)]
        owned = sorted(rng.choices(range(self.counts.accounts), weights, k=total - orphans))
        return owned + [-1] * orphans

    @functools.cached_property
    def account_contacts(self) -> list[range]:
        """For each account, the range of contact indexes that belong to it."""
        starts = [0] * (self.counts.accounts + 1)
        for account in self.contact_accounts:
            if account >= 0:
                starts[account + 1] += 1
        for index in range(self.counts.accounts):
            starts[index + 1] += starts[index]
        return [range(starts[i], starts[i + 1]) for i in range(self.counts.accounts)]

    def contact_name(self, rng: random.Random) -> tuple[str, str]:
        return rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)

    def _generate_contacts(self) -> Iterator[dict]:
        plan = self.account_plan
        rng = self._rng("contacts")
        for index, account in enumerate(self.contact_accounts):
            first, last = self.contact_name(rng)
            created, modified, _ = self._created(rng)
            if account >= 0:
                domain = plan.domains[account]
                owner = self.users[plan.owners[account]]["systemuserid"]
                parent = self._id("account", account)
            else:
                domain = rng.choice(("gmail.com", "outlook.com", "proton.me"))
                owner = self.users[self._pick_owner(rng)]["systemuserid"]
                parent = None
            local = f"{slug(first)}.{slug(last)}".replace("-", "")
            if rng.random() < 0.2:
                local = f"{slug(first)[0]}{slug(last)}".replace("-", "")
            email = f"{local}@{domain}" if rng.random() < 0.9 else None
            row = {
                "contactid": self._id("contact", index),
                "firstname": first,
                "lastname": last,
                "fullname": f"{first} {last}",
                "emailaddress1": email,
                "jobtitle": rng.choice(words.JOB_TITLES),
                "telephone1": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
                "_parentcustomerid_value": parent,
                "statecode": 0,
                "statuscode": 1,
                "_ownerid_value": owner,
                "_createdby_value": owner,
                "_modifiedby_value": owner,
                "createdon": created,
                "modifiedon": modified,
            }
            if parent:
                row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = "account"
            yield row

    # -- leads ---------------------------------------------------------------------------------

    def _generate_leads(self) -> Iterator[dict]:
        plan = self.account_plan
        rng = self._rng("leads")
        for index in range(self.counts.leads):
            first, last = self.contact_name(rng)
            created, modified, _ = self._created(rng)
            if rng.random() < 0.5 and plan.names:
                account = rng.randrange(len(plan.names))
                company, domain = plan.names[account], plan.domains[account]
                parent = self._id("account", account)
            else:
                prefix = rng.choice(words.COMPANY_PREFIXES)
                core = rng.choice(words.COMPANY_CORES)
                company = f"{prefix} {core} {rng.choice(words.CITIES)[0]}"
                domain = slug(company).replace("-", "") + ".com"
                parent = None
            owner = self.users[self._pick_owner(rng)]["systemuserid"]
            state = rng.choices((0, 1, 2), (80, 10, 10))[0]
            status = {0: rng.choice((1, 2)), 1: 3, 2: rng.choice((4, 5, 6, 7))}[state]
            yield {
                "leadid": self._id("lead", index),
                "subject": rng.choice(words.LEAD_TOPICS),
                "firstname": first,
                "lastname": last,
                "fullname": f"{first} {last}",
                "companyname": company,
                "emailaddress1": f"{slug(first)}.{slug(last)}@{domain}".replace("-", ""),
                "jobtitle": rng.choice(words.JOB_TITLES),
                "_parentaccountid_value": parent,
                "statecode": state,
                "statuscode": status,
                "_ownerid_value": owner,
                "_createdby_value": owner,
                "_modifiedby_value": owner,
                "createdon": created,
                "modifiedon": modified,
            }

    # -- opportunities -------------------------------------------------------------------------

    def _generate_opportunities(self) -> Iterator[dict]:
        plan = self.account_plan
        ranges = self.account_contacts
        rng = self._rng("opportunities")
        # Its own stream, so that adding currencies left every other column as it was.
        currency_rng = self._rng("opportunity-currencies")
        currencies = self.currencies
        shares = [share for *_, share in CURRENCIES]
        for index in range(self.counts.opportunities):
            currency = currency_rng.choices(currencies, shares)[0]
            rate = currency["exchangerate"]
            account = rng.randrange(self.counts.accounts)
            account_id = self._id("account", account)
            contacts = ranges[account]
            contact_id = None
            if len(contacts) and rng.random() < 0.85:
                contact_id = self._id("contact", contacts[rng.randrange(len(contacts))])
            if rng.random() < 0.7:
                owner_index = plan.owners[account]
            else:
                owner_index = self._pick_owner(rng)
            owner = self.users[owner_index]["systemuserid"]
            created, modified, created_at = self._created(rng)

            state = rng.choices((0, 1, 2), (65, 20, 15))[0]
            if state == 0:
                stage = rng.choices((0, 1, 2, 3), (35, 30, 20, 15))[0]
                status = 2 if rng.random() < 0.1 else 1
            elif state == 1:
                stage, status = 3, 3
            else:
                stage, status = rng.randrange(4), rng.choice((4, 5))
            estimated = round(10 ** rng.uniform(3.7, 5.7), -2)
            actual = won_amount = None
            if state == 1:
                actual = round(estimated * rng.uniform(0.8, 1.1), -2)
                won_amount = round(actual * 0.95, 2)
            close_date = created_at + dt.timedelta(days=rng.randrange(30, 180))
            customer_is_contact = contact_id is not None and rng.random() < 0.1
            customer = contact_id if customer_is_contact else account_id
            forecast = {0: 100000001, 1: 100000002, 2: 100000002, 3: 100000003}[stage]
            if state:
                forecast = 100000005 if state == 1 else 100000006
            yield {
                "opportunityid": self._id("opportunity", index),
                "name": f"{plan.names[account]} - {rng.choice(words.PRODUCTS)}",
                "statecode": state,
                "statuscode": status,
                "salesstage": stage,
                "salesstagecode": 1,
                "stepname": f"{stage + 1}-{SALES_STAGES[stage][1]}",
                "estimatedvalue": estimated,
                "estimatedvalue_base": _base(estimated, rate),
                "actualvalue": actual,
                "actualvalue_base": _base(actual, rate),
                "new_wonamount": won_amount,
                "new_wonamount_base": _base(won_amount, rate),
                "exchangerate": rate,
                "closeprobability": 100 if state == 1 else 0 if state == 2 else
                (10, 30, 60, 80)[stage],
                "estimatedclosedate": close_date.date().isoformat(),
                "actualclosedate": close_date.date().isoformat() if state else None,
                "msdyn_forecastcategory": forecast,
                "_parentaccountid_value": account_id,
                "_parentcontactid_value": contact_id,
                "_customerid_value": customer,
                "_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":
                    "contact" if customer_is_contact else "account",
                "_transactioncurrencyid_value": currency["transactioncurrencyid"],
                "_ownerid_value": owner,
                "_createdby_value": owner,
                "_modifiedby_value": owner,
                "createdon": created,
                "modifiedon": modified,
            }


def _base(amount: float | None, rate: float) -> float | None:
    """An amount in the base currency, as Dataverse fills ``x_base``: ``x`` / the rate."""
    return None if amount is None else round(amount / rate, 2)


def generate_org(size: str, seed: int = 42) -> Org:
    """The org of this size generated from this seed (cheap: rows are generated on iteration)."""
    return Org(size, seed)
