"""Loading the prospecting network (companies and members) in bulk, row by row validated.

Sources are CSV or JSON files (``manage.py import_network``) and the demo generator
(``network.demo``). Every row is checked before anything is written; a bad row is rejected with
its line number and the reason, and the good rows are loaded:

- companies: ``name`` (required), ``domain`` (a website or host; optional), ``linkedin_url``;
- members: ``first_name``, ``last_name`` and ``profile_url`` (required; the profile URL is the
  member's identity), ``headline``, ``company_name``, ``email`` (where known).

Loading is idempotent: a member is keyed by profile URL, a company by its domain, or by its
normalised name when it has no domain; loading the same rows again updates nothing. Rows are
written a chunk at a time with bulk queries (one lookup, one insert, one update per chunk), so a
network of hundreds of thousands of rows loads in seconds, not hours.

Members are linked to a company by the company's normalised name (``company_name``), when the
network has one company of that name.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.utils import timezone

from network.models import Company, Member
from network.normalize import normalize_company, normalize_domain

CHUNK = 5000
PERSON_FIELDS = ("first_name", "last_name", "headline", "company_name", "email", "profile_url")
COMPANY_FIELDS = ("name", "domain", "linkedin_url")
_MEMBER_UPDATE = (
    "first_name", "last_name", "headline", "company", "company_name", "email", "profile_key",
    "name_key",
)  # fmt: skip
_COMPANY_UPDATE = ("name", "domain", "linkedin_url", "name_key")
_email = EmailValidator()


@dataclass
class Rejected:
    line: int
    reason: str


@dataclass
class LoadReport:
    """What a load did: rows created, updated and unchanged per kind, and the rejected rows."""

    companies_created: int = 0
    companies_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.companies_created
            or self.companies_updated
            or self.members_created
            or self.members_updated
        )

    def lines(self) -> list[str]:
        """The report as lines of text, for the command's output."""
        lines = [
            f"Companies: {self.companies_created} created, {self.companies_updated} updated.",
            f"Members: {self.members_created} created, {self.members_updated} updated.",
            f"Unchanged: {self.unchanged}. Rejected: {len(self.rejected)}.",
        ]
        lines += [f"  line {r.line}: {r.reason}" for r in self.rejected]
        return lines


def _text(row: dict, name: str, max_length: int, *, required: bool = False) -> str:
    value = row.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be text, not {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{name} is required")
    if len(value) > max_length:
        raise ValidationError(f"{name} is longer than {max_length} characters")
    return value


def _url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
        raise ValidationError(f"{name} {value!r} is not an http(s) URL")
    return value


def company_from_row(row: dict) -> Company:
    """A validated, unsaved Company (keys filled in); ValidationError names the first problem."""
    company = Company(
        name=_text(row, "name", 255, required=True),
        domain=_text(row, "domain", 255),
        linkedin_url=_text(row, "linkedin_url", 300),
    )
    if company.domain and not normalize_domain(company.domain):
        raise ValidationError(f"domain {company.domain!r} is not a website or host name")
    if company.linkedin_url:
        _url(company.linkedin_url, "linkedin_url")
    company.refresh_keys()
    return company


def member_from_row(row: dict) -> Member:
    """A validated, unsaved Member (keys filled in); ValidationError names the first problem."""
    member = Member(
        first_name=_text(row, "first_name", 100, required=True),
        last_name=_text(row, "last_name", 100, required=True),
        headline=_text(row, "headline", 255),
        company_name=_text(row, "company_name", 255),
        email=_text(row, "email", 254),
        profile_url=_text(row, "profile_url", 300, required=True),
    )
    _url(member.profile_url, "profile_url")
    if member.email:
        try:
            _email(member.email)
        except ValidationError:
            raise ValidationError(f"email {member.email!r} is not an email address") from None
    member.refresh_keys()
    return member


def _validated(rows: Iterable[tuple[int, dict]], build, key, report: LoadReport) -> Iterator:
    """(line, object) for the rows that pass, rejecting bad rows and repeats of a key."""
    first_line: dict[str, int] = {}
    for line, row in rows:
        try:
            if not isinstance(row, dict):
                raise ValidationError("not an object with named fields")
            obj = build(row)
        except ValidationError as error:
            report.rejected.append(Rejected(line, "; ".join(error.messages)))
            continue
        identity = key(obj)
        if identity in first_line:
            report.rejected.append(
                Rejected(line, f"duplicate of line {first_line[identity]} ({identity})")
            )
            continue
        first_line[identity] = line
        yield obj


def _company_key(company: Company) -> str:
    return f"domain:{company.domain}" if company.domain else f"name:{company.name_key}"


def _chunks(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _same(old, new, fields) -> bool:
    # Compare foreign keys by id ("company_id"), never by fetching the related row.
    names = [new._meta.get_field(name).attname for name in fields]
    return all(getattr(old, name) == getattr(new, name) for name in names)


def _load_companies(rows, report: LoadReport) -> None:
    for chunk in _chunks(_validated(rows, company_from_row, _company_key, report)):
        domains = {c.domain for c in chunk if c.domain}
        names = {c.name_key for c in chunk if not c.domain}
        existing = {
            _company_key(c): c for c in Company.objects.filter(domain__in=domains).order_by("-pk")
        }
        existing |= {
            _company_key(c): c
            for c in Company.objects.filter(domain="", name_key__in=names).order_by("-pk")
        }
        created, updated = [], []
        for company in chunk:
            old = existing.get(_company_key(company))
            if old is None:
                created.append(company)
            elif _same(old, company, _COMPANY_UPDATE):
                report.unchanged += 1
            else:
                company.pk, company.created_at = old.pk, old.created_at
                company.updated_at = timezone.now()
                updated.append(company)
        Company.objects.bulk_create(created)
        # bulk_update sets what it is given: updated_at is stamped above.
        Company.objects.bulk_update(updated, [*_COMPANY_UPDATE, "updated_at"])
        report.companies_created += len(created)
        report.companies_updated += len(updated)


def _companies_by_name(name_keys: set[str]) -> dict[str, int]:
    """{name key: company id} for names exactly one network company has."""
    seen: dict[str, int | None] = {}
    for key, pk in Company.objects.filter(name_key__in=name_keys).values_list("name_key", "pk"):
        seen[key] = None if key in seen else pk
    return {key: pk for key, pk in seen.items() if pk is not None}


def _load_members(rows, report: LoadReport) -> None:
    validated = _validated(rows, member_from_row, lambda m: m.profile_key, report)
    for chunk in _chunks(validated):
        companies = _companies_by_name({normalize_company(m.company_name) for m in chunk} - {""})
        for member in chunk:
            member.company_id = companies.get(normalize_company(member.company_name))
        existing = {
            m.profile_url: m
            for m in Member.objects.filter(profile_url__in=[m.profile_url for m in chunk])
        }
        changed = []
        for member in chunk:
            old = existing.get(member.profile_url)
            if old is not None and _same(old, member, _MEMBER_UPDATE):
                report.unchanged += 1
            else:
                changed.append(member)
        Member.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["profile_url"],
            # updated_at (auto_now) is stamped by the insert and so set by the update too.
            update_fields=[*_MEMBER_UPDATE, "updated_at"],
        )
        report.members_updated += sum(1 for m in changed if m.profile_url in existing)
        report.members_created += sum(1 for m in changed if m.profile_url not in existing)


@transaction.atomic
def network_load(
    *,
    companies: Iterable[tuple[int, dict]] = (),
    people: Iterable[tuple[int, dict]] = (),
) -> LoadReport:
    """Load (line number, row) pairs of companies, then people; returns the report.

    Companies go first so that members can be linked to them. One transaction: a load that
    fails half-way (the database, not a bad row) leaves the network as it was.
    """
    report = LoadReport()
    _load_companies(companies, report)
    # Members are linked to companies by name: look them up with fresh statistics.
    _analyze(Company)
    _load_members(people, report)
    # And matching CRM rows against a network that just grew is planned well.
    _analyze(Member)
    return report


def _analyze(model) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def numbered(rows: Iterable[dict], start: int = 1) -> Iterator[tuple[int, dict]]:
    """Rows with their position, for sources that have no line numbers of their own."""
    return enumerate(rows, start)


# --- Files -----------------------------------------------------------------------------------


class FileFormatError(ValueError):
    """The file as a whole cannot be read (not a CSV of known columns, not JSON)."""


def read_csv(text: str) -> tuple[str, Iterator[tuple[int, dict]]]:
    """("people" | "companies", rows numbered by file line) from CSV text with a header row.

    The header says what the file holds: a ``profile_url`` column means people, a ``name``
    column companies.
    """
    reader = csv.DictReader(io.StringIO(text))
    columns = set(reader.fieldnames or ())
    if "profile_url" in columns:
        kind = "people"
    elif "name" in columns:
        kind = "companies"
    else:
        raise FileFormatError(
            "The CSV header has neither profile_url (people: "
            f"{', '.join(PERSON_FIELDS)}) nor name (companies: {', '.join(COMPANY_FIELDS)})."
        )

    def rows():
        for row in reader:
            # The reader's line_num is the last line read: the row's own line (quoted values
            # may span several).
            yield reader.line_num, {key: value for key, value in row.items() if key}

    return kind, rows()


def read_json(text: str) -> dict[str, list[tuple[int, dict]]]:
    """{"companies": rows, "people": rows} from ``{"companies": [...], "people": [...]}``.

    JSON has no useful line numbers, so a row's "line" is its position in its list (from 1).
    """
    try:
        data = json.loads(text)
    except ValueError as error:
        raise FileFormatError(f"The file is not valid JSON: {error}") from None
    if not isinstance(data, dict) or not ({"companies", "people"} & set(data)):
        raise FileFormatError('Expected a JSON object with "companies" and/or "people" lists.')
    result = {}
    for kind in ("companies", "people"):
        rows = data.get(kind, [])
        if not isinstance(rows, list):
            raise FileFormatError(f'"{kind}" must be a list of objects.')
        result[kind] = list(numbered(rows))
    return result
