"""The record form a Dynamics link opens: ``/main.aspx?pagetype=entityrecord&etn=…&id=…``.

The portal links *In CRM* badges and *View the activity in your CRM* to this address of the
environment, as it would for a real org. The emulator answers with a plain read-only page of the
row's columns (choice values by label, lookups by the target's name), so a demo's links lead
somewhere; it is not a copy of the model-driven app.
"""

from __future__ import annotations

import html
import uuid

from .schema import TABLES_BY_NAME, Table
from .wire import Response


def record_page(*, catalog, store, query: dict[str, str]) -> Response:
    table = catalog.by_name(query.get("etn", ""))
    row_id = query.get("id", "").strip("{}").lower()
    if table is None:
        return _page(404, "Record not found", "<p>This table does not exist in the org.</p>")
    try:
        uuid.UUID(row_id)
    except ValueError:
        return _page(404, "Record not found", "<p>The record id is not a GUID.</p>")
    row = store.get_row(table.logical_name, row_id)
    if row is None:
        return _page(404, "Record not found", f"<p>No {html.escape(table.label)} has this id; it "
                     "may have been deleted.</p>")
    body = row.body
    name = body.get(table.primary_name) or f"{table.label} {row_id}"
    cells = "".join(
        f"<tr><th scope=row>{html.escape(attribute.label)}</th>"
        f"<td>{html.escape(_shown(store, table, attribute.wire_name, value))}</td></tr>"
        for attribute in table.attributes
        if (value := body.get(attribute.wire_name)) not in (None, "")
    )
    content = (f"<p class=kind>{html.escape(table.label)}</p><h1>{html.escape(str(name))}</h1>"
               f"<table>{cells}</table>")
    return _page(200, f"{name} - {table.label}", content)


def _shown(store, table: Table, wire_name: str, value) -> str:
    """A column's value as the form shows it: option labels and the names of looked-up rows."""
    attribute = table.by_wire[wire_name]
    if attribute.options:
        return attribute.option_label(value) or str(value)
    if attribute.is_lookup:
        for target in attribute.targets:
            target_table = TABLES_BY_NAME.get(target)
            found = store.get_row(target, str(value)) if target_table else None
            if found is not None:
                return str(found.body.get(target_table.primary_name) or value)
    return str(value)


def _page(status: int, title: str, content: str) -> Response:
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: "Segoe UI", system-ui, sans-serif; margin: 0; background: #faf9f8; }}
main {{ max-width: 760px; margin: 32px auto; background: #fff; padding: 24px 32px;
       box-shadow: 0 2px 6px rgba(0,0,0,.15); }}
.kind {{ color: #605e5c; margin: 0; }}
h1 {{ font-size: 1.4rem; font-weight: 600; margin: 4px 0 16px; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: 6px 8px; border-top: 1px solid #edebe9; vertical-align: top; }}
th {{ color: #605e5c; font-weight: 400; width: 40%; }}
</style></head>
<body><main>{content}</main></body></html>"""
    return Response(status, page.encode(), [("Content-Type", "text/html; charset=utf-8")])
