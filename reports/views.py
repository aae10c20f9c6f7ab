"""Admin > Reports: won revenue, the match report and the audit trail, each with a CSV export.

Admin and Admin only seats open them (``admin_required``); every read is scoped to the admin's
own contract, so another contract's rows are never there to show. The pages and exports read
the database only: nothing here asks Dynamics.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from crm_settings.selectors import crm_connection_get, crm_settings_read
from exports import csv_download, csv_filename, queryset_rows
from reports.audit import audit_line
from reports.forms import AuditFilter, MatchFilter, WonRevenueFilter
from reports.selectors import (
    MATCH_ENTITIES,
    METHOD_PHRASES,
    audit_entries,
    match_records,
    match_summaries,
    won_revenue_export_rows,
    won_revenue_report,
    won_revenue_seats,
)
from seats.access import admin_required
from sync.models import MatchMethod

PAGE_SIZE = 50


def _query(data: dict) -> str:
    """The filters as a query string for links (pages, export), without empty values."""
    return urlencode({key: value for key, value in data.items() if value not in ("", None)})


def _refused(request, form, page: str):
    """A CSV asked for with a bad filter: back to the page, which says what is wrong."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect(f"{reverse(page)}?{request.GET.urlencode()}")


# --- Won revenue ---------------------------------------------------------------------------------


@admin_required
@require_GET
def won_revenue(request):
    contract = request.contract
    filters = WonRevenueFilter(request.GET)
    start, end = filters.period()
    crm_settings = crm_settings_read(contract=contract)
    seats = Paginator(won_revenue_seats(contract=contract, start=start, end=end), PAGE_SIZE)
    page = seats.get_page(request.GET.get("page"))
    report = won_revenue_report(
        contract=contract,
        crm_settings=crm_settings,
        start=start,
        end=end,
        seat_ids=[seat.pk for seat in page.object_list],
    )
    seat_by_id = {seat.pk: seat for seat in page.object_list}
    return render(
        request,
        "reports/won_revenue.html",
        {
            "nav": "admin",
            "filters": filters,
            "report": report,
            "page": page,
            "seat_rows": [(seat_by_id[row.key], row) for row in report.by_seat],
            "crm_settings": crm_settings,
            "query": _query(filters.query()),
        },
    )


@admin_required
@require_GET
def won_revenue_csv(request):
    contract = request.contract
    filters = WonRevenueFilter(request.GET)
    if not filters.is_valid():
        return _refused(request, filters, "reports:won_revenue")
    start, end = filters.period()
    rows = won_revenue_export_rows(
        contract=contract, crm_settings=crm_settings_read(contract=contract), start=start, end=end
    )
    return csv_download(
        filename=csv_filename("won-revenue", contract.name, f"{start:%Y-%m}", f"{end:%Y-%m}"),
        header=[
            "Seat holder", "Email", "Month", "Currency", "Won opportunities", "Won value",
            "Won without a value", "Saved in the portal before the win",
        ],
        rows=rows,
    )  # fmt: skip


# --- Match report --------------------------------------------------------------------------------


@admin_required
@require_GET
def matches(request):
    contract = request.contract
    filters = MatchFilter(request.GET)
    values = filters.values()
    records = match_records(contract=contract, **values)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    entity = values["entity"]
    return render(
        request,
        "reports/matches.html",
        {
            "nav": "admin",
            "filters": filters,
            "summaries": match_summaries(contract=contract),
            "entity": entity,
            "entity_label": MATCH_ENTITIES[entity][0],
            "logical_name": entity.removesuffix("s"),
            "method": values["method"],
            "method_phrase": METHOD_PHRASES.get(values["method"], ""),
            "page": page,
            "connection": crm_connection_get(contract=contract),
            "query": _query({"entity": entity, "method": values["method"], "q": values["search"]}),
        },
    )


def _contact_row(contact) -> tuple:
    return (
        contact.full_name, contact.email, contact.job_title, contact.account_name,
        contact.profile_url, contact.get_match_method_display(), str(contact.crm_id),
    )  # fmt: skip


def _account_row(account) -> tuple:
    return (
        account.name, account.website, account.domain, account.get_match_method_display(),
        str(account.crm_id),
    )  # fmt: skip


_MATCH_EXPORTS = {
    "contacts": (
        ["Name", "Email", "Job title", "Account", "Profile URL", "Match", "CRM id"],
        _contact_row,
        ("full_name", "email", "job_title", "profile_url", "match_method", "crm_id"),
    ),
    "accounts": (
        ["Name", "Website", "Domain", "Match", "CRM id"],
        _account_row,
        ("name", "website", "domain", "match_method", "crm_id"),
    ),
}


@admin_required
@require_GET
def matches_csv(request):
    contract = request.contract
    filters = MatchFilter(request.GET)
    if not filters.is_valid():
        return _refused(request, filters, "reports:matches")
    values = filters.values()
    header, to_row, columns = _MATCH_EXPORTS[values["entity"]]
    records = match_records(contract=contract, **values).only(*columns)
    method = MatchMethod(values["method"]).label if values["method"] else "unmatched"
    return csv_download(
        filename=csv_filename(values["entity"], method, contract.name),
        header=header,
        rows=queryset_rows(records, to_row),
    )


# --- Audit trail ---------------------------------------------------------------------------------


@admin_required
@require_GET
def audit(request):
    filters = AuditFilter(request.GET)
    values = filters.values()
    entries = audit_entries(contract=request.contract, **values)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/audit.html",
        {
            "nav": "admin",
            "filters": filters,
            "page": page,
            "rows": [(entry, audit_line(entry)) for entry in page.object_list],
            "query": _query(
                {
                    "action": values.get("action"),
                    "q": values.get("search"),
                    "since": values.get("since"),
                    "until": values.get("until"),
                }
            ),
        },
    )


def _audit_row(entry) -> tuple:
    line = audit_line(entry)
    return (entry.created_at, entry.actor_label, entry.action, line.summary, line.changes_text)


@admin_required
@require_GET
def audit_csv(request):
    contract = request.contract
    filters = AuditFilter(request.GET)
    if not filters.is_valid():
        return _refused(request, filters, "reports:audit")
    entries = audit_entries(contract=contract, **filters.values())
    return csv_download(
        filename=csv_filename("audit-trail", contract.name),
        header=["When (UTC)", "Who", "Action", "What", "Changes"],
        rows=queryset_rows(entries, _audit_row),
    )
