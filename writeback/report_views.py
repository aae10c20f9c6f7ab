"""The LinkedIn unresolved task report: the list, one item with its suggestions and a CRM search,
and *Create record in CRM*; and the contract's failed copies, for its admins.

Seat holders see and resolve their own items; admins (Admin and Admin only) every item of the
contract. Another seat holder's item is a 404 (``get_unresolved``).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.lists import query_without_page
from exports import csv_download, csv_filename, queryset_rows
from inbox.forms import add_service_error
from network.models import Company
from seats.access import admin_required, seat_required
from writeback import report
from writeback.access import get_unresolved
from writeback.forms import CrmRecordForm, ResolveForm, UnresolvedListForm
from writeback.selectors import deliveries_failed, unresolved_list

PAGE_SIZE = 50
RESOLVED_IN_CRM = "That item was resolved in your CRM already, so it has left the report."


@seat_required
@require_GET
def unresolved(request):
    """Open activities that regard nobody in the CRM, newest first, searched and sorted."""
    filters = UnresolvedListForm(request.GET)
    entries = unresolved_list(seat=request.seat, **filters.selector_kwargs())
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "headers": filters.headers(),
        "query": query_without_page(request),
        "nav": "unresolved",
    }
    return render(request, "writeback/unresolved.html", context)


def _items_phrase(count: int) -> str:
    return "1 other open item" if count == 1 else f"{count} other open items"


def _resolved_messages(request, resolution: report.Resolution, *, about: str, done: str) -> None:
    """The confirmation: what was resolved, and the other items about the same member or company
    that were closed with it (or are still in the report)."""
    text = f"Resolved: {done}."
    if resolution.others_closed:
        closed = _items_phrase(resolution.others_closed)
        text += f" {closed} about {about} {'was' if resolution.others_closed == 1 else 'were'}"
        text += " closed on it too."
    messages.success(request, text)
    if resolution.others_left:
        left = _items_phrase(resolution.others_left)
        messages.warning(
            request,
            f"{left} about {about} could not be closed now: "
            f"{'it stays' if resolution.others_left == 1 else 'they stay'} in the report.",
        )


@admin_required
@require_GET
def failed(request):
    """The contract's copies that failed: why, and what their seat holder can do (*Retry* is
    theirs, on the item)."""
    entries = deliveries_failed(contract=request.contract)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "writeback/failed.html", {"page": page, "nav": "admin"})


def _unresolved_row(entry) -> tuple:
    return (
        entry.task_label, str(entry.about), entry.item.body, entry.seat.user.email,
        entry.sent_at, entry.crm_url, str(entry.activity_id),
    )  # fmt: skip


@seat_required
@require_GET
def unresolved_csv(request):
    """*Export CSV*: every item of the report as this seat sees it (admins: the contract's)."""
    return csv_download(
        filename=csv_filename("unresolved-tasks", request.contract.name),
        header=[
            "Task", "About", "What was written", "Seat holder", "Copied (UTC)",
            "CRM activity link", "CRM activity id",
        ],
        rows=queryset_rows(unresolved_list(seat=request.seat), _unresolved_row),
    )  # fmt: skip


@seat_required
@require_GET
def unresolved_item(request, pk: int):
    """One item: its suggested CRM records, or what a search found (htmx swaps only those)."""
    entry = get_unresolved(request, pk)
    searching = "q" in request.GET
    query = request.GET.get("q", "").strip()
    if searching:
        answer = report.unresolved_search(entry=entry, query=query)
    else:
        answer = report.unresolved_suggest(entry=entry)
    if answer.resolved:
        messages.info(request, RESOLVED_IN_CRM)
        return redirect("writeback:unresolved")
    context = {
        "entry": entry,
        "others": report.unresolved_others(entry=entry, seat=request.seat).count(),
        "answer": answer,
        "searching": searching,
        "query": query,
        "search_min_length": report.SEARCH_MIN_LENGTH,
        "nav": "unresolved",
    }
    if request.htmx:
        return render(request, "writeback/_candidates.html", context)
    return render(request, "writeback/unresolved_item.html", context)


@seat_required
@require_POST
def unresolved_resolve(request, pk: int):
    """A suggested or found record chosen: the activity regards it and is closed."""
    entry = get_unresolved(request, pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a record from the list.")
        return redirect("writeback:unresolved_item", pk)
    record = form.record()
    about = str(entry.about)
    try:
        resolution = report.unresolved_resolve(entry=entry, record=record, by=request.seat)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("writeback:unresolved_item", pk)
    _resolved_messages(
        request,
        resolution,
        about=about,
        done=f"the activity is closed on {record.name or 'the record'}",
    )
    return redirect("writeback:unresolved")


@seat_required
@require_http_methods(["GET", "POST"])
def unresolved_create(request, pk: int):
    """*Create record in CRM* from the member's (or company's) details, then resolve with it."""
    entry = get_unresolved(request, pk)
    about = entry.about
    form = CrmRecordForm(
        request.POST or None,
        for_company=isinstance(about, Company),
        initial=CrmRecordForm.initial_for(about),
    )
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "record_type"}
        try:
            resolution = report.unresolved_create_record(
                entry=entry,
                record_type=form.cleaned_data["record_type"],
                values=values,
                by=request.seat,
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            _resolved_messages(
                request,
                resolution,
                about=str(about),
                done=f"{resolution.record.name} was created in your CRM and the activity "
                "closed on it",
            )
            return redirect("writeback:unresolved")
    context = {
        "entry": entry,
        "form": form,
        "others": report.unresolved_others(entry=entry, seat=request.seat).count(),
        "nav": "unresolved",
    }
    status = 400 if form.errors else 200
    return render(request, "writeback/unresolved_create.html", context, status=status)
