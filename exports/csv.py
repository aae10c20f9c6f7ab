"""Streaming a CSV file: cells, rows, batches, and the response that sends them."""

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify

# Rows fetched from the database at a time, and rows written per chunk of the response.
CHUNK_SIZE = 2000
ROWS_PER_WRITE = 500
# Excel reads a CSV as UTF-8 only when it starts with a byte order mark.
BOM = "\ufeff"
# A text cell starting with one of these is a formula to a spreadsheet ("CSV injection", OWASP):
# CRM data and people's names are not the portal's to trust, so such text is quoted.
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")


class _Line:
    """A file-like object whose ``write`` returns what it was given (for ``csv.writer``)."""

    def write(self, text: str) -> str:
        return text


def cell(value: object) -> object:
    """One value as a CSV cell: empty for None, Yes/No, ISO 8601 dates (moments in UTC, to the
    second), formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.isoformat(timespec="seconds")
    if isinstance(value, date | int | float | Decimal):
        return value.isoformat() if isinstance(value, date) else value
    text = str(value)
    return f"'{text}" if _FORMULA_START.match(text) else text


def _lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield BOM + writer.writerow(header)
    batch: list[str] = []
    for row in rows:
        batch.append(writer.writerow([cell(value) for value in row]))
        if len(batch) == ROWS_PER_WRITE:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def queryset_rows(
    queryset: QuerySet,
    to_row: Callable[[object], Sequence[object]] | None = None,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[Sequence[object]]:
    """The queryset's rows, ``chunk_size`` at a time from the database (a server-side cursor on
    PostgreSQL), each passed through ``to_row`` when given (a ``values_list`` needs none)."""
    for item in queryset.iterator(chunk_size=chunk_size):
        yield to_row(item) if to_row is not None else item


def csv_filename(*parts: str) -> str:
    """``seats-contoso-2026-01-31.csv``: the parts slugified, today's date, ``.csv``."""
    words = [slugify(part) for part in parts if part]
    return "-".join([*filter(None, words), timezone.localdate().isoformat()]) + ".csv"


def csv_download(
    *, filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> StreamingHttpResponse:
    """A CSV attachment written while it is sent: ``rows`` is consumed lazily, after the view
    returns, so it must be a generator over the database (``queryset_rows``), not a list."""
    response = StreamingHttpResponse(
        (text.encode() for text in _lines(header, rows)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response
