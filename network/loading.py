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
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple
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


# A plain http(s) URL with a dotted host: accepted without taking it apart (urlsplit would accept
# it too); anything else is judged by urlsplit.
_PLAIN_HTTP_URL = re.compile(
    r"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9-]+\.[A-Za-z0-9.-]*(?::[0-9]+)?(?:[/?#]|$)"
)


def _url(value: str, name: str) -> str:
    if _PLAIN_HTTP_URL.match(value):
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
        raise ValidationError(f"{name} {value!r} is not an http(s) URL")
    return value


class CompanyRow(NamedTuple):
    """A validated company row, its matching key filled in (the values a Company would hold)."""

    name: str
    domain: str
    linkedin_url: str
    name_key: str


class MemberRow(NamedTuple):
    """A validated member row, its matching keys filled in (the values a Member would hold)."""

    first_name: str
    last_name: str
    headline: str
    company_name: str
    email: str
    profile_url: str
    profile_key: str
    name_key: str


def company_from_row(row: dict) -> CompanyRow:
    """A validated company (keys filled in); ValidationError names the first problem."""
    name = _text(row, "name", 255, required=True)
    domain = _text(row, "domain", 255)
    linkedin_url = _text(row, "linkedin_url", 300)
    normalized = normalize_domain(domain)
    if domain and not normalized:
        raise ValidationError(f"domain {domain!r} is not a website or host name")
    if linkedin_url:
        _url(linkedin_url, "linkedin_url")
    return CompanyRow(name, normalized, linkedin_url, Company.name_key_for(name))


def member_from_row(row: dict) -> MemberRow:
    """A validated member (keys filled in); ValidationError names the first problem."""
    first_name = _text(row, "first_name", 100, required=True)
    last_name = _text(row, "last_name", 100, required=True)
    headline = _text(row, "headline", 255)
    company_name = _text(row, "company_name", 255)
    email = _text(row, "email", 254)
    profile_url = _text(row, "profile_url", 300, required=True)
    _url(profile_url, "profile_url")
    if email:
        try:
            _email(email)
        except ValidationError:
            raise ValidationError(f"email {email!r} is not an email address") from None
    return MemberRow(
        first_name, last_name, headline, company_name,
        *Member.keys_for(first_name, last_name, company_name, email, profile_url),
    )  # fmt: skip


def _validated(
    rows: Iterable[tuple[int, dict]], build, key, report: LoadReport, *, numbered_objects=False
) -> Iterator:
    """The objects (or (line, object) pairs) of the rows that pass; bad rows and repeats of a
    key are rejected into the report."""
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
        yield (line, obj) if numbered_objects else obj


def _company_key(company: CompanyRow) -> str:
    return f"domain:{company.domain}" if company.domain else f"name:{company.name_key}"


def _chunks(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --- Writing: a staging table, then set-based SQL --------------------------------------------
#
# Validated rows go into a temporary table a chunk at a time (PostgreSQL's COPY, one
# ``executemany`` on SQLite); then a few statements over the whole table link members to
# companies, count what exists, and insert or update only what changed. Nothing is written row by
# row and no model instance is saved, so the huge network (about 275,000 rows) loads in seconds.
# The statements are plain SQL both databases run (``UPDATE ... FROM`` needs SQLite 3.33+, as the
# import does).

_MEMBER_STAGE = "network_member_load"
_MEMBER_COLUMNS = (
    "line", "profile_url", "first_name", "last_name", "headline", "company_name", "email",
    "profile_key", "name_key", "company_key",
)  # fmt: skip
_COMPANY_STAGE = "network_company_load"
_COMPANY_COLUMNS = ("line", "name", "domain", "linkedin_url", "name_key")
# SQLite needs a WHERE between ``INSERT ... SELECT`` and ``ON CONFLICT`` (its documented parsing
# ambiguity); PostgreSQL accepts it too.
_ALWAYS = "WHERE 1 = 1"


def _stage_create(cursor, name: str, columns: tuple[str, ...]) -> None:
    integers = ("line", "target_id", "company_id")
    typed = ", ".join(f"{c} {'integer' if c in integers else 'text'}" for c in columns)
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMPORARY TABLE {name} ({typed})")


def _stage_fill(cursor, name: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    column_list = ", ".join(columns)
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {name} ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join(["%s"] * len(columns))
    cursor.executemany(f"INSERT INTO {name} ({column_list}) VALUES ({placeholders})", rows)


def _distinct(left: str, right: str) -> str:
    """SQL that is true when two values differ, NULL-safe."""
    operator = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return f"{left} {operator} {right}"


def _differs(target: str, source: str, columns: Iterable[str]) -> str:
    """SQL that is true when any column differs between two rows (NULL-safe)."""
    return " OR ".join(_distinct(f"{target}.{c}", f"{source}.{c}") for c in columns)


def _load_companies(rows, report: LoadReport) -> None:
    """Companies: matched by domain, or by normalised name when they have none.

    There is no unique key to upsert on (two network companies may share a name), so an
    existing company is found first (the oldest of that key), updated where it differs, and the
    rest inserted in file order.
    """
    table = Company._meta.db_table
    with connection.cursor() as cursor:
        _stage_create(cursor, _COMPANY_STAGE, (*_COMPANY_COLUMNS, "target_id"))
        staged = 0
        lines = _validated(rows, company_from_row, _company_key, report, numbered_objects=True)
        for chunk in _chunks(lines):
            values = [(line, c.name, c.domain, c.linkedin_url, c.name_key) for line, c in chunk]
            _stage_fill(cursor, _COMPANY_STAGE, _COMPANY_COLUMNS, values)
            staged += len(values)
        if not staged:
            return
        cursor.execute(
            f"UPDATE {_COMPANY_STAGE} SET target_id = (SELECT MIN(c.id) FROM {table} c "
            f"WHERE c.domain = {_COMPANY_STAGE}.domain) WHERE domain <> ''"
        )
        cursor.execute(
            f"UPDATE {_COMPANY_STAGE} SET target_id = (SELECT MIN(c.id) FROM {table} c "
            f"WHERE c.domain = '' AND c.name_key = {_COMPANY_STAGE}.name_key) WHERE domain = ''"
        )
        cursor.execute(f"SELECT COUNT(*) FROM {_COMPANY_STAGE} WHERE target_id IS NOT NULL")
        existing = cursor.fetchone()[0]
        now = timezone.now()
        sets = ", ".join(f"{c} = s.{c}" for c in _COMPANY_UPDATE)
        cursor.execute(
            f"UPDATE {table} SET {sets}, updated_at = %s FROM {_COMPANY_STAGE} s "
            f"WHERE {table}.id = s.target_id AND ({_differs(table, 's', _COMPANY_UPDATE)})",
            [now],
        )
        updated = cursor.rowcount
        columns = ", ".join(_COMPANY_UPDATE)
        cursor.execute(
            f"INSERT INTO {table} ({columns}, industry, created_at, updated_at) "
            f"SELECT {columns}, '', %s, %s FROM {_COMPANY_STAGE} WHERE target_id IS NULL "
            "ORDER BY line",
            [now, now],
        )
        report.companies_created += cursor.rowcount
        report.companies_updated += updated
        report.unchanged += existing - updated
        cursor.execute(f"DROP TABLE {_COMPANY_STAGE}")


def _load_members(rows, report: LoadReport) -> None:
    """Members: upserted by profile URL, linked to the one company of their company's name."""
    table = Member._meta.db_table
    company_table = Company._meta.db_table
    validated = _validated(rows, member_from_row, lambda m: m.profile_key, report,
                           numbered_objects=True)  # fmt: skip
    with connection.cursor() as cursor:
        _stage_create(cursor, _MEMBER_STAGE, _MEMBER_COLUMNS)
        staged = 0
        for chunk in _chunks(validated):
            values = [
                (line, m.profile_url, m.first_name, m.last_name, m.headline, m.company_name,
                 m.email, m.profile_key, m.name_key, normalize_company(m.company_name))
                for line, m in chunk
            ]  # fmt: skip
            _stage_fill(cursor, _MEMBER_STAGE, _MEMBER_COLUMNS, values)
            staged += len(values)
        if not staged:
            return
        cursor.execute(
            f"SELECT COUNT(*) FROM {_MEMBER_STAGE} s "
            f"JOIN {table} m ON m.profile_url = s.profile_url"
        )
        existing = cursor.fetchone()[0]
        columns = [Member._meta.get_field(name).column for name in _MEMBER_UPDATE]
        column_list = ", ".join(columns)
        staged_values = ", ".join(
            "c.id" if column == "company_id" else f"s.{column}" for column in columns
        )
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
        now = timezone.now()
        # Only new and changed rows reach the insert (a hash join against the table, rather than
        # a conflict per unchanged row); the company is the one of the member's company name,
        # when the network has exactly one of that name.
        cursor.execute(
            f"""INSERT INTO {table} (profile_url, {column_list}, created_at, updated_at)
            SELECT s.profile_url, {staged_values}, %s, %s
            FROM {_MEMBER_STAGE} s
            LEFT JOIN (SELECT name_key, MIN(id) AS id FROM {company_table}
                       GROUP BY name_key HAVING COUNT(*) = 1) c
              ON c.name_key = s.company_key AND s.company_key <> ''
            LEFT JOIN {table} m ON m.profile_url = s.profile_url
            WHERE m.id IS NULL OR {_differs("m", "s", [c for c in columns if c != "company_id"])}
               OR {_distinct("m.company_id", "c.id")}
            ORDER BY s.line
            ON CONFLICT (profile_url) DO UPDATE SET {updates}, updated_at = excluded.updated_at""",
            [now, now],
        )
        written = cursor.rowcount
        created = staged - existing
        report.members_created += created
        report.members_updated += written - created
        report.unchanged += existing - (written - created)
        cursor.execute(f"DROP TABLE {_MEMBER_STAGE}")


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
