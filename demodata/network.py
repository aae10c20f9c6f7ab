"""The prospecting network that matches a generated org: people and companies.

About 70% of the org's contacts and accounts (and half of its leads) get a network counterpart,
the rest of the network has no CRM record. Counterparts come in three kinds, so that matching code
meets what it meets in real life:

- "email": same email address and name as the CRM contact (most counterparts);
- "name_company": same name and company, but no work email on the profile;
- "variant": the first name spelled differently ("Catherine" / "Katherine", "Michael" / "Mike").

Every person and company carries the CRM id it was made from (`crm_contactid`, `crm_leadid`,
`crm_accountid`, and `match`). That is ground truth for tests and demo reports; matching code
must not read it.

Both `people` and `companies` are re-iterable generators, so a `huge` org's network streams.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

from . import words
from .org import Org, RowStream, slug

_NETWORK_NAMESPACE = uuid.UUID("0b6d3f2a-8e41-4c5d-b7a9-5e2f1c0d9e87")
_SUFFIXES = tuple(f" {kind}" for kind in words.COMPANY_KINDS if kind)


class Network:
    """People and companies of the prospecting network generated for one org."""

    def __init__(self, org: Org, seed: int = 42):
        self.org = org
        self.seed = seed
        self.companies = RowStream(self._company_count(), self._generate_companies)
        self.people = _Stream(self._generate_people)

    def _rng(self, purpose: str) -> random.Random:
        return random.Random(f"network:{self.seed}:{self.org.seed}:{self.org.size}:{purpose}")

    def _member_key(self, kind: str, index: int) -> str:
        return uuid.uuid5(_NETWORK_NAMESPACE, f"{self.seed}:{kind}:{index}").hex[:8]

    # -- companies -----------------------------------------------------------------------------

    def _extra_company_count(self) -> int:
        return max(10, self.org.counts.accounts * 3 // 10)

    def _company_count(self) -> int:
        return sum(1 for _ in self._crm_company_choices()) + self._extra_company_count()

    def _crm_company_choices(self) -> Iterator[int]:
        """Indexes of the accounts that have a network company, in account order."""
        rng = self._rng("crm-companies")
        for index in range(self.org.counts.accounts):
            if rng.random() < 0.7:
                yield index

    def _extra_companies(self) -> list[tuple[str, str]]:
        """(name, domain) of network companies that are not in the CRM."""
        rng = self._rng("extra-companies")
        taken = set(self.org.account_plan.domains)
        result = []
        for index in range(self._extra_company_count()):
            prefix = rng.choice(words.COMPANY_PREFIXES)
            core = rng.choice(words.COMPANY_CORES)
            city = rng.choice(words.CITIES)[0]
            name = f"{prefix} {core} {city}"
            domain = slug(name).replace("-", "") + ".com"
            if domain in taken:
                domain = slug(name).replace("-", "") + f"{index}.com"
            taken.add(domain)
            result.append((name, domain))
        return result

    def _generate_companies(self) -> Iterator[dict]:
        plan = self.org.account_plan
        rng = self._rng("company-details")
        for index in self._crm_company_choices():
            name = plan.names[index]
            if rng.random() < 0.15:
                name = _without_suffix(name)
            yield {
                "name": name,
                "domain": plan.domains[index] if rng.random() < 0.9 else None,
                "linkedin_url": f"https://www.linkedin.com/company/{slug(plan.names[index])}",
                "crm_accountid": self.org._id("account", index),
            }
        for name, domain in self._extra_companies():
            yield {
                "name": name,
                "domain": domain,
                "linkedin_url": f"https://www.linkedin.com/company/{slug(name)}",
                "crm_accountid": None,
            }

    # -- people --------------------------------------------------------------------------------

    def _person(self, kind: str, index: int, first: str, last: str, title: str, company: str,
                email: str | None, rng: random.Random) -> dict:
        pattern = rng.choice(words.HEADLINE_PATTERNS)
        handle = f"{slug(first)}-{slug(last)}-{self._member_key(kind, index)}"
        return {
            "first_name": first,
            "last_name": last,
            "headline": pattern.format(title=title, company=company),
            "company_name": company,
            "email": email,
            "profile_url": f"https://www.linkedin.com/in/{handle}",
            "crm_contactid": None,
            "crm_leadid": None,
            "match": None,
        }

    def _generate_people(self) -> Iterator[dict]:
        plan = self.org.account_plan
        rng = self._rng("people")
        accounts = self.org.contact_accounts
        for index, contact in enumerate(self.org.contacts):
            if rng.random() >= 0.7:
                continue
            account = accounts[index]
            company = plan.names[account] if account >= 0 else "Self-employed"
            first, last = contact["firstname"], contact["lastname"]
            email = contact["emailaddress1"]
            roll = rng.random()
            if email and roll < 0.75:
                match = "email"
            elif roll < 0.85 or first not in words.NAME_VARIANTS:
                match, email = "name_company", None
            else:
                match, email = "variant", None
                first = words.NAME_VARIANTS[first]
            if match != "email" and rng.random() < 0.3:
                company = _without_suffix(company)
            person = self._person("contact", index, first, last, contact["jobtitle"], company,
                                  email, rng)
            person["crm_contactid"] = contact["contactid"]
            person["match"] = match
            yield person

        for index, lead in enumerate(self.org.leads):
            if rng.random() >= 0.5:
                continue
            person = self._person("lead", index, lead["firstname"], lead["lastname"],
                                  lead["jobtitle"], lead["companyname"], lead["emailaddress1"], rng)
            person["crm_leadid"] = lead["leadid"]
            person["match"] = "email"
            yield person

        extra_companies = self._extra_companies()
        for index in range(self.org.counts.contacts * 4 // 10):
            first = rng.choice(words.FIRST_NAMES)
            last = rng.choice(words.LAST_NAMES)
            title = rng.choice(words.JOB_TITLES)
            if rng.random() < 0.7 or not plan.names:
                company, domain = rng.choice(extra_companies)
                email = None
                if rng.random() < 0.4:
                    email = f"{slug(first)}.{slug(last)}@{domain}".replace("-", "")
            else:
                # Works at a CRM account but is not in the CRM; no email, so that no address can
                # collide with a CRM contact's.
                company, email = rng.choice(plan.names), None
            yield self._person("member", index, first, last, title, company, email, rng)


class _Stream:
    """A re-iterable generator without a known length."""

    def __init__(self, generate):
        self._generate = generate

    def __iter__(self) -> Iterator[dict]:
        return self._generate()


def _without_suffix(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def network_for_org(org: Org, seed: int = 42) -> Network:
    """The network (people, companies) that goes with `org`; deterministic for (org, seed)."""
    return Network(org, seed)
