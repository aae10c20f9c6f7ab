"""Admin / Seat Management and *Assign seats from CRM* (served at /seats/, names ``seats:``).

These pages live with the seat-to-CRM-user mapping because most of what they show and change is
CRM state: the *In CRM* badge, each seat's CRM sync, what the import saved, the CRM's users.
Every change is a POST (CSRF-checked) that calls one service and comes back to the page it was
made on. Lists and bulk actions work on the current contract only: a seat or CRM user of another
contract answers 404, a seat holder gets 403 (``seats.access``).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.lists import query_without_page
from crm_settings.messages import CrmProblem, crm_problem_show
from crm_settings.selectors import crm_connection_get, crm_settings_get
from exports import csv_download, csv_filename, queryset_rows
from network.imported import seats_imported_saves_count
from seats.access import admin_required, get_for_contract
from seats.models import SEAT_ROLES, Role, Seat
from seats.services import seat_invitations_enqueue, seats_free, seats_in_use_and_admin_only
from sync import seat_services
from sync.evaluate import new_seat_id
from sync.models import CrmUser
from sync.preview import saves_preview
from sync.seat_forms import CrmUserSearchForm, SeatEditForm, SeatFilterForm
from sync.seat_selectors import (
    crm_users_assignable,
    seat_import_stats,
    seat_list,
    seat_list_export,
)

PAGE_SIZE = 50


def _next_url(request, default: str = "seats:list") -> str:
    """The page a form came from (its ``next``) if it is a path on this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return reverse(default)


def _back(request, default: str = "seats:list"):
    return redirect(_next_url(request, default))


def _base_url(request) -> str:
    """The portal's address as this request reached it, for links in emails."""
    return request.build_absolute_uri("/")


@admin_required
@require_GET
def seat_management(request):
    contract = request.contract
    filters = SeatFilterForm(request.GET)
    seats = seat_list(contract=contract, **filters.selector_kwargs())
    page = Paginator(seats, PAGE_SIZE).get_page(request.GET.get("page"))
    stats = seat_import_stats(seats=page.object_list)
    in_use, admin_only = seats_in_use_and_admin_only(contract=contract)
    return render(
        request,
        "sync/seats/seat_list.html",
        {
            "nav": "admin",
            "page": page,
            "rows": [(seat, stats[seat.pk]) for seat in page.object_list],
            "filters": filters,
            "filter_values": filters.filter_values(),
            "sort_columns": filters.headers(),
            "query": query_without_page(request),
            "auto_sync": crm_settings_get(contract=contract).auto_sync,
            "connection": crm_connection_get(contract=contract),
            "in_use": in_use,
            "admin_only": admin_only,
        },
    )


_ROLES = dict(Role.choices)
_SYNC = {True: "On", False: "Off", None: "Admin only: nothing to sync"}


def _seat_row(values: tuple) -> tuple:
    name, email, role, crm_user, crm_email, in_crm, sync_on, accounts, leads, *imports = values
    moments = [moment for moment in imports if moment is not None]
    return (
        name.strip(), email, _ROLES.get(role, role), crm_user or "Not Matched", crm_email,
        in_crm, _SYNC[sync_on], accounts, leads, max(moments, default=None),
    )  # fmt: skip


@admin_required
@require_GET
def seats_csv(request):
    """*Export CSV*: every seat the list's filters select (not only one page), in its order."""
    filters = SeatFilterForm(request.GET)
    seats = seat_list_export(contract=request.contract, **filters.selector_kwargs())
    return csv_download(
        filename=csv_filename("seats", request.contract.name),
        header=[
            "Name", "Email", "Role", "CRM user", "CRM user email", "In CRM", "CRM sync",
            "Accounts from CRM", "Leads from CRM", "Last import",
        ],
        rows=queryset_rows(seats, _seat_row),
    )  # fmt: skip


# The largest id a BigAutoField holds: a larger number cannot be a row, and the database would
# refuse it with an overflow error rather than find nothing.
_MAX_ID = 2**63 - 1


def _selected_ids(data, name: str) -> list[int]:
    """The ids ticked in a list's checkboxes called ``name``; 404 for anything but row ids."""
    try:
        ids = {int(value) for value in data.getlist(name)}
    except ValueError:
        raise Http404("Not a selection.") from None
    if any(not 0 < value <= _MAX_ID for value in ids):
        raise Http404("Not a selection.")
    return sorted(ids)


def _selected_seats(request) -> QuerySet[Seat]:
    """The seats a bulk or row action applies to, on the current contract.

    Either the ticked ``seat`` checkboxes (404 when one is not the contract's), or with
    ``scope=all`` every seat matching the filters the list showed.
    """
    data = request.POST if request.method == "POST" else request.GET
    if data.get("scope") == "all":
        filters = SeatFilterForm(data)
        return seat_list(contract=request.contract, **filters.selector_kwargs())
    ids = _selected_ids(data, "seat")
    seats = Seat.objects.filter(contract=request.contract, pk__in=ids)
    if seats.count() != len(ids):
        raise Http404("No such seat on this contract.")
    return seats


def _selection_fields(request) -> list[tuple[str, str]]:
    """The selection as hidden form fields, to carry it through a confirmation page."""
    data = request.POST if request.method == "POST" else request.GET
    names = ["seat", "scope", *SeatFilterForm.FILTERS]
    return [(name, value) for name in names for value in data.getlist(name)]


def _seats_phrase(count: int) -> str:
    return "1 seat" if count == 1 else f"{count} seats"


def _sync_preview(request, seats: QuerySet[Seat], *, on: bool):
    """What the import would do for ``seats`` with their CRM sync turned ``on`` or off."""
    ids = list(seats.filter(role__in=SEAT_ROLES).values_list("pk", flat=True))
    return saves_preview(contract=request.contract, seat_sync=dict.fromkeys(ids, on), of_seats=ids)


@admin_required
@require_http_methods(["GET", "POST"])
def sync_enable(request):
    """*Enable CRM Sync* for one seat (the row's menu) or the ticked ones (the bulk bar): first
    what the next import would bring them (``sync.preview``), then the change."""
    seats = _selected_seats(request)
    if not seats.exists():
        messages.info(request, "Select the seats to enable CRM sync for.")
        return _back(request)
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        count = seats.count()
        return render(
            request,
            "sync/seats/sync_enable.html",
            {
                "nav": "admin",
                "count": count,
                "seat": seats.select_related("user").first() if count == 1 else None,
                "preview": _sync_preview(request, seats, on=True),
                "selection": _selection_fields(request),
                "next": _next_url(request),
            },
        )
    change = seat_services.seats_sync_enable(
        contract=request.contract, seats=seats, by=request.user
    )
    messages.success(request, f"CRM sync enabled for {_seats_phrase(change.changed)}.")
    if change.not_matched:
        messages.warning(
            request,
            f"{_seats_phrase(change.not_matched)} Not Matched to a CRM user: they sync once their "
            "email matches a user in your CRM.",
        )
    if change.skipped:
        messages.info(request, f"{_seats_phrase(change.skipped)} Admin only: nothing to sync.")
    return _back(request)


@admin_required
@require_http_methods(["GET", "POST"])
def sync_disable(request):
    """*Disable CRM Sync*: first a confirmation with what would be removed, then the change."""
    seats = _selected_seats(request)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        change = seat_services.seats_sync_disable(
            contract=request.contract, seats=seats, by=request.user
        )
        removed = change.removed
        messages.success(
            request,
            f"CRM sync disabled for {_seats_phrase(change.changed)}. Removed "
            f"{removed['accounts']} imported accounts and {removed['leads']} imported leads.",
        )
        return _back(request)
    count = seats.count()
    if not count:
        messages.info(request, "Select the seats to disable CRM sync for.")
        return _back(request)
    return render(
        request,
        "sync/seats/sync_disable.html",
        {
            "nav": "admin",
            "count": count,
            "seat": seats.select_related("user").first() if count == 1 else None,
            "counts": seats_imported_saves_count(seats=seats.filter(role__in=SEAT_ROLES)),
            "preview": _sync_preview(request, seats, on=False),
            "selection": _selection_fields(request),
            "next": _next_url(request),
        },
    )


@admin_required
@require_POST
def invite(request):
    """Send a new invitation to the holders of the selected seats who have no password yet."""
    seats = [
        s
        for s in _selected_seats(request).select_related("user")
        if not s.user.has_usable_password()
    ]
    seat_invitations_enqueue(
        contract=request.contract, seats=seats, base_url=_base_url(request), by=request.user
    )
    if seats:
        messages.success(request, f"Invitation sent to {_seats_phrase(len(seats))}.")
    else:
        messages.info(request, "They have already set a password: no invitation needed.")
    return _back(request)


@admin_required
@require_http_methods(["GET", "POST"])
def seat_edit(request, seat_id: int):
    seat = get_for_contract(request, Seat.objects.select_related("user", "contract"), pk=seat_id)
    user = seat.user
    form = SeatEditForm(
        request.POST or None,
        initial={
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": seat.role,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            seat_services.seat_edit(
                seat=seat, **form.cleaned_data, by=request.user, base_url=_base_url(request)
            )
        except ValidationError as error:
            form.add_error(None, error)
            seat.refresh_from_db()
            user.refresh_from_db()
        else:
            messages.success(request, f"Seat of {user.email} saved.")
            return _back(request)
    return render(
        request,
        "sync/seats/seat_edit.html",
        {"nav": "admin", "seat": seat, "form": form, "next": _next_url(request)},
        status=400 if form.errors else 200,
    )


# --- Assign seats from CRM ----------------------------------------------------------------------


@admin_required
@require_GET
def assign(request):
    contract = request.contract
    search = CrmUserSearchForm(request.GET)
    users = crm_users_assignable(contract=contract, **search.selector_kwargs())
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sync/seats/assign.html",
        {
            "nav": "admin",
            "page": page,
            "search": search,
            "query": query_without_page(request),
            "free": seats_free(contract=contract),
            "connection": crm_connection_get(contract=contract),
            "synced_users": CrmUser.objects.filter(contract=contract).exists(),
        },
    )


def _selected_crm_users(request) -> QuerySet[CrmUser]:
    """The CRM users ticked on *Assign seats from CRM* (404 for another contract's), or all."""
    if request.POST.get("scope") == "all":
        search = CrmUserSearchForm(request.POST)
        return crm_users_assignable(contract=request.contract, **search.selector_kwargs())
    ids = _selected_ids(request.POST, "crm_user")
    users = CrmUser.objects.filter(contract=request.contract, pk__in=ids)
    if users.count() != len(ids):
        raise Http404("No such CRM user on this contract.")
    return users


@admin_required
@require_POST
def assign_preview(request):
    """*Preview*: what each selected person's new seat would get on its first import, with
    *Assign seats* to go on (the same selection) and *Cancel*."""
    crm_users = _selected_crm_users(request)
    if not crm_users.exists():
        messages.info(request, "Select the people to assign seats to.")
        return _back(request, "seats:assign")
    people = seat_services.crm_users_to_seat(contract=request.contract, crm_users=crm_users)
    ids = [user.pk for user in people.usable]
    preview = saves_preview(
        contract=request.contract,
        new_seats_for=ids,
        of_seats=[new_seat_id(pk) for pk in ids],
    )
    return render(
        request,
        "sync/seats/assign_preview.html",
        {
            "nav": "admin",
            "people": people,
            "preview": preview,
            "auto_sync": crm_settings_get(contract=request.contract).auto_sync,
            "free": seats_free(contract=request.contract),
            "selection": [
                (name, value)
                for name in ("crm_user", "scope", "q", "everyone")
                for value in request.POST.getlist(name)
            ],
            "next": _next_url(request, "seats:assign"),
        },
    )


@admin_required
@require_POST
def assign_create(request):
    """Give the selected CRM users seats; all or nothing within the purchased seats."""
    crm_users = _selected_crm_users(request)
    if not crm_users.exists():
        messages.info(request, "Select the people to assign seats to.")
        return _back(request, "seats:assign")
    try:
        result = seat_services.seats_assign_from_crm(
            contract=request.contract,
            crm_users=crm_users,
            by=request.user,
            base_url=_base_url(request),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(request, "seats:assign")
    if result.created:
        messages.success(
            request,
            f"Assigned {_seats_phrase(len(result.created))}. Each person gets an email "
            "to set their password.",
        )
    if result.already:
        messages.info(
            request,
            f"Already holding a seat, nothing changed: {', '.join(result.already)}.",
        )
    if result.refused:
        messages.warning(
            request,
            "Not assigned: "
            + "; ".join(f"{email} {why}" for email, why in sorted(result.refused.items()))
            + ".",
        )
    if result.unusable:
        messages.warning(
            request,
            f"Cannot be given a seat (disabled in the CRM, an application user, or no email): "
            f"{', '.join(result.unusable)}.",
        )
    return _back(request, "seats:assign")


@admin_required
@require_POST
def crm_users_refresh(request):
    """*Refresh from CRM*: re-read the CRM's users (and re-map seats) now."""
    try:
        count = seat_services.crm_users_reload(contract=request.contract, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except CrmProblem as problem:
        crm_problem_show(request, problem)
    else:
        messages.success(request, f"Read {count} users from your CRM.")
    return _back(request, "seats:assign")
