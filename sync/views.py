"""Admin > CRM Settings, the import's part: status, *Sync now*, history, one run, and the records
page that answers *Why not imported?* for every CRM contact, account and seat.

Admin and Admin only seats may open them; a run of another contract is a 404.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from common.lists import query_without_page
from crm_settings.budget import budget_wait
from crm_settings.messages import paused_notice
from crm_settings.models import AutoPause
from crm_settings.pausing import pause_get
from crm_settings.selectors import crm_connection_get
from exports import csv_download, csv_filename, queryset_rows
from seats.access import admin_required, get_for_contract
from sync.forms import HistoryFilterForm
from sync.models import SyncRun
from sync.selectors import (
    RECORD_KINDS,
    record_page,
    sync_run_history,
    sync_run_problems,
    sync_status,
)
from sync.services import sync_request

PAGE_SIZE = 50


def _status(request):
    return render(request, "sync/_status.html", {"status": sync_status(contract=request.contract)})


@admin_required
@require_GET
def status(request):
    """The status panel of CRM Settings (htmx); it refreshes itself while a run is active."""
    return _status(request)


@admin_required
@require_POST
def sync_now(request):
    """*Sync now*: start an import, or join the one in progress.

    While the sync is paused after failing too often in a row it starts nothing and says so:
    *Resume sync* is the way to run again (the whole page is shown, with the pause and its last
    error, rather than the status panel alone).
    """
    connection = crm_connection_get(contract=request.contract)
    if connection is None:
        messages.error(request, "Connect to CRM before syncing.")
        return redirect("crm_settings:index")
    pause = pause_get(contract_id=request.contract.pk, part=AutoPause.Part.SYNC)
    if pause is not None:
        messages.error(
            request,
            f"The sync is paused after {pause.failures} failures in a row, so nothing was "
            "started. Fix the cause shown under Alerts and auto-pause, then select Resume sync.",
        )
        return HttpResponseClientRefresh() if request.htmx else redirect("crm_settings:index")
    _, created = sync_request(contract=request.contract, trigger=SyncRun.Trigger.MANUAL)
    if request.htmx:
        return _status(request)
    wait = budget_wait(connection=connection, reserve=False)
    if wait is not None:
        # The task waits for the Retry-After too; say so now rather than show a stuck sync.
        messages.info(
            request,
            f"{paused_notice(wait)} The sync is queued and starts then.",
        )
    elif created:
        messages.success(request, "Sync started.")
    else:
        messages.info(request, "A sync is already in progress; your request was added to it.")
    return redirect("crm_settings:index")


@admin_required
@require_GET
def history(request):
    filters = HistoryFilterForm(request.GET)
    runs = sync_run_history(contract=request.contract, **filters.selector_kwargs())
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "headers": filters.headers(),
        "query": query_without_page(request),
        "nav": "admin",
    }
    return render(request, "sync/history.html", context)


@admin_required
@require_GET
def run(request, pk: int):
    sync_run = get_for_contract(request, SyncRun.objects.all(), pk=pk)
    problems = Paginator(sync_run_problems(run=sync_run), PAGE_SIZE)
    page = problems.get_page(request.GET.get("page"))
    return render(request, "sync/run.html", {"run": sync_run, "page": page, "nav": "admin"})


@admin_required
@require_GET
def run_problems_csv(request, pk: int):
    """*Export CSV* of a run's problems: every one, not only a page."""
    sync_run = get_for_contract(request, SyncRun.objects.all(), pk=pk)
    problems = sync_run_problems(run=sync_run).values_list(
        "table", "crm_id", "reason", "created_at"
    )
    return csv_download(
        filename=csv_filename("sync", str(sync_run.pk), "problems", request.contract.name),
        header=["Table", "CRM id", "Problem", "Found (UTC)"],
        rows=queryset_rows(problems),
    )


@admin_required
@require_GET
def records(request):
    """*Why not imported?*: mirrored contacts, accounts or seats with the rule that applies."""
    kind = request.GET.get("kind", "contacts")
    if kind not in RECORD_KINDS:
        kind = "contacts"
    search = request.GET.get("q", "").strip()[:100]
    unmatched = request.GET.get("unmatched") == "1"
    page = record_page(
        contract=request.contract,
        kind=kind,
        search=search,
        unmatched=unmatched,
        page_number=request.GET.get("page"),
        page_size=PAGE_SIZE,
    )
    query = urlencode({"kind": kind, "q": search, **({"unmatched": "1"} if unmatched else {})})
    return render(
        request,
        "sync/records.html",
        {
            "page": page,
            "kind": kind,
            "kinds": [(key, spec[0]) for key, spec in RECORD_KINDS.items()],
            "search": search,
            "unmatched": unmatched,
            "query": query,
            "connection": crm_connection_get(contract=request.contract),
            "nav": "admin",
        },
    )
