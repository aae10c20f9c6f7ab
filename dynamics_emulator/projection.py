"""Turning stored rows into the JSON objects the Web API returns.

One `Shaper` serves one request: it knows the selected columns, the `$expand` items and which
annotations the Prefer header asked for. It shapes a whole page at once so that the names behind
lookups (for formatted values) and expanded rows are fetched with one query per target table,
not one per row.

Output follows Dataverse: `@odata.etag` first, then each column with its annotations just before
it (`x@OData.Community.Display.V1.FormattedValue`, then `x`), the primary key last when it was
not selected, and expanded navigation properties at the end.
"""

from __future__ import annotations

import datetime as dt

from . import odata
from .schema import TABLES_BY_NAME, UNEMULATED_TARGETS, Attribute, Table
from .store import Row

FORMATTED = odata.FORMATTED
LOGICAL = odata.LOOKUP_LOGICAL_NAME
NAVIGATION = odata.ASSOCIATED_NAVIGATION
PARTY_TYPE_KEY = "partyid_type"
PARTIES_KEY = "__activity_parties"


def lookup_target(table: Table, attribute: Attribute, body: dict) -> str | None:
    """The logical name of the table a lookup value points into."""
    if body.get(attribute.wire_name) is None:
        return None
    return body.get(f"{attribute.wire_name}@{LOGICAL}") or attribute.targets[0]


def format_value(attribute: Attribute, value) -> str | None:
    """The en-US display text Dataverse sends as the FormattedValue annotation."""
    if value is None:
        return None
    kind = attribute.type
    if kind in ("Picklist", "State", "Status"):
        return attribute.option_label(value)
    if kind == "Boolean":
        return attribute.option_label(1 if value else 0)
    if kind == "Money":
        sign = "-" if value < 0 else ""
        return f"{sign}${abs(value):,.2f}"
    if kind in ("Integer", "BigInt"):
        return f"{value:,}"
    if kind in ("Decimal", "Double"):
        return f"{value:,.2f}"
    if kind == "DateTime":
        try:
            if attribute.date_only:
                day = dt.date.fromisoformat(value[:10])
                return f"{day.month}/{day.day}/{day.year}"
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        hour = moment.hour % 12 or 12
        meridiem = "AM" if moment.hour < 12 else "PM"
        return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d} {meridiem}"
    return None


class Shaper:
    """Shapes pages of rows of one table for one request."""

    def __init__(self, *, store, table: Table, select: list[Attribute] | None,
                 expands: list[odata.Expand], prefer: odata.Prefer, org_name: str,
                 nested_selects: dict[str, list[Attribute] | None] | None = None):
        self.store = store
        self.table = table
        self.expands = expands
        self.org_name = org_name
        self.nested_selects = nested_selects or {}
        self.prefer = prefer
        self.formatted = prefer.wants(FORMATTED)
        self.logical = prefer.wants(LOGICAL)
        self.navigation = prefer.wants(NAVIGATION)
        columns = list(select) if select is not None else list(table.attributes)
        primary = table.by_name[table.primary_id]
        if primary not in columns:
            columns.append(primary)
        self.columns = columns
        self.annotated = self.formatted or self.logical or self.navigation

    # -- names behind lookups ------------------------------------------------------------------

    def _lookup_names(self, rows: list[Row]) -> dict[tuple[str, str], str]:
        wanted: dict[str, set[str]] = {}
        for attribute in self.columns:
            if not attribute.is_lookup:
                continue
            for row in rows:
                target = lookup_target(self.table, attribute, row.body)
                if target:
                    wanted.setdefault(target, set()).add(row.body[attribute.wire_name])
        names: dict[tuple[str, str], str] = {}
        for target, ids in wanted.items():
            if target in UNEMULATED_TARGETS:
                # The org's one business unit is named after it, and so is the org itself.
                names.update({(target, row_id): self.org_name for row_id in ids})
                continue
            primary_name = TABLES_BY_NAME[target].primary_name
            for row_id, found in self.store.get_rows(target, ids).items():
                names[(target, row_id)] = found.body.get(primary_name)
        return names

    # -- shaping -------------------------------------------------------------------------------

    def projection(self) -> str | None:
        """SQL building each row's finished JSON inside SQLite, or None when annotations or
        `$expand` need Python. Column order and values are the same as `shape` produces."""
        if self.annotated or self.expands:
            return None
        parts = ["'@odata.etag'", "'W/\"' || version || '\"'"]
        for attribute in self.columns:
            wire = attribute.wire_name
            value = "id" if attribute.name == self.table.primary_id else f"body -> '$.{wire}'"
            parts += [f"'{wire}'", value]
        return f"json_object({', '.join(parts)})"

    def shape(self, rows: list[Row]) -> list[dict | str]:
        """The JSON objects of these rows (rows read with `projection()` are already JSON)."""
        if rows and isinstance(rows[0].body, str):
            return [row.body for row in rows]
        if not self.annotated:
            wires = [attribute.wire_name for attribute in self.columns]
            shaped = []
            for row in rows:
                get = row.body.get
                item = {"@odata.etag": f'W/"{row.version}"'}
                for wire in wires:
                    item[wire] = get(wire)
                shaped.append(item)
        else:
            names = self._lookup_names(rows) if self.formatted else {}
            shaped = [self._shape_annotated(row, names) for row in rows]
        for expand in self.expands:
            self._expand(expand, rows, shaped)
        return shaped

    def _shape_annotated(self, row: Row, names: dict) -> dict:
        body = row.body
        item = {"@odata.etag": f'W/"{row.version}"'}
        for attribute in self.columns:
            wire = attribute.wire_name
            value = body.get(wire)
            if value is not None:
                if attribute.is_lookup:
                    target = lookup_target(self.table, attribute, body)
                    if self.formatted and names.get((target, value)) is not None:
                        item[f"{wire}@{FORMATTED}"] = names[(target, value)]
                    if self.navigation:
                        item[f"{wire}@{NAVIGATION}"] = self.table.nav_for(attribute.name, target) \
                            or attribute.name
                    if self.logical:
                        item[f"{wire}@{LOGICAL}"] = target
                elif self.formatted:
                    text = format_value(attribute, value)
                    if text is not None:
                        item[f"{wire}@{FORMATTED}"] = text
            item[wire] = value
        return item

    def _expand(self, expand: odata.Expand, rows: list[Row], shaped: list[dict]) -> None:
        if expand.collection:
            for row, item in zip(rows, shaped, strict=True):
                item[expand.name] = [self._party(row, party)
                                     for party in row.body.get(PARTIES_KEY, [])]
            return
        target_table = TABLES_BY_NAME.get(expand.target)
        ids = [row.body.get(expand.attribute.wire_name) for row in rows
               if lookup_target(self.table, expand.attribute, row.body) == expand.target]
        found = self.store.get_rows(expand.target, [i for i in ids if i]) if target_table else {}
        nested = Shaper(store=self.store, table=target_table, prefer=self.prefer,
                        select=self.nested_selects.get(expand.name), expands=[],
                        org_name=self.org_name) if target_table else None
        by_id = {}
        if nested and found:
            found_rows = list(found.values())
            for found_row, nested_item in zip(found_rows, nested.shape(found_rows), strict=True):
                by_id[found_row.id] = nested_item
        for row, item in zip(rows, shaped, strict=True):
            matches = lookup_target(self.table, expand.attribute, row.body) == expand.target
            item[expand.name] = by_id.get(row.body.get(expand.attribute.wire_name)) \
                if matches else None

    def _party(self, row: Row, party: dict) -> dict:
        item = {"activitypartyid": party["activitypartyid"],
                "participationtypemask": party["participationtypemask"]}
        if self.logical:
            item[f"_partyid_value@{LOGICAL}"] = party[PARTY_TYPE_KEY]
        item["_partyid_value"] = party["_partyid_value"]
        item["_activityid_value"] = row.id
        return item
