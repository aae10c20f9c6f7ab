"""Small helpers for writing OData URLs the way Dataverse expects them.

The query string is built by hand rather than with `requests`' `params=`, because requests
percent-encodes `$` and `,` (`%24select=a%2Cb`). Dataverse accepts that, but the documented form
keeps system query options readable (`$select=name,accountid`), and saved next/delta links stay
byte-for-byte what the server produced.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import quote

# Characters left as they are in a query value: OData syntax that Dataverse documents literally.
# Everything else (spaces, &, #, +, %, non-ASCII) is percent-encoded.
_SAFE_IN_QUERY = "$,()'/:@*;=-_.~!"


def guid(value: object) -> str:
    """Return `value` as a canonical lowercase GUID string; raise ValueError if it is not one."""
    try:
        return str(uuid.UUID(str(value).strip("{}")))
    except ValueError:
        raise ValueError(f"not a GUID: {value!r}") from None


def row_path(entity_set: str, row_id: object) -> str:
    """`accounts(…guid…)`: the URL path of one row, relative to the Web API root."""
    return f"{entity_set}({guid(row_id)})"


def literal(value: object) -> str:
    """Format a Python value as an OData literal for use inside `$filter`.

    Strings are single-quoted with quotes doubled; GUIDs, numbers and booleans are bare;
    datetimes are UTC ISO 8601 with a `Z`; None is `null`.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot format {type(value).__name__} as an OData literal")


def quote_value(value: str) -> str:
    """Percent-encode one query option value, keeping OData punctuation readable."""
    return quote(value, safe=_SAFE_IN_QUERY)


def join_names(names: str | Iterable[str]) -> str:
    """Accept "a,b" or ["a", "b"] and return "a,b"."""
    if isinstance(names, str):
        return names
    return ",".join(names)


def build_query(
    *,
    select: str | Sequence[str] | None = None,
    filter: str | None = None,
    expand: str | Sequence[str] | None = None,
    orderby: str | Sequence[str] | None = None,
    top: int | None = None,
    count: bool = False,
) -> str:
    """Return the query string (without `?`) for the given system query options."""
    options: list[tuple[str, str]] = []
    if select:
        options.append(("$select", join_names(select)))
    if filter:
        options.append(("$filter", filter))
    if expand:
        options.append(("$expand", join_names(expand)))
    if orderby:
        options.append(("$orderby", join_names(orderby)))
    if top is not None:
        if top < 1:
            raise ValueError("top must be a positive number")
        options.append(("$top", str(int(top))))
    if count:
        options.append(("$count", "true"))
    return "&".join(f"{name}={quote_value(value)}" for name, value in options)


def with_query(path: str, query: str) -> str:
    """Append a query string to a path."""
    return f"{path}?{query}" if query else path


def metadata_key(logical_name: str) -> str:
    """`EntityDefinitions(LogicalName='x')`: metadata of one table by logical name."""
    if not logical_name or "'" in logical_name:
        raise ValueError(f"not a table logical name: {logical_name!r}")
    return f"EntityDefinitions(LogicalName='{logical_name}')"
