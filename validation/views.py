"""The Data validation page: flagged CRM contacts, *Export CSV*, *Dismiss*, *Show again* and
*Create a follow-up task in CRM*.

Admins (Admin and Admin only) see and act on every flag of the contract; a seat holder on the
flags of the contacts they hold as Leads; any other flag is a 404 (``_get_flag``). No page here
computes a flag: the import does (``sync.flags``).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from common.lists import query_without_page
from exports import csv_download, csv_filename, queryset_rows
from seats.access import seat_required
from sync.flags import flag_dismiss, flag_restore, flags_of_seat
from sync.models import ContactFlag
from validation.forms import FlagListForm, FollowUpForm
from validation.selectors import flags_decorate, flags_list
from writeback.followups import follow_up_ask

PAGE_SIZE = 50
CHANGED_SINCE = (
    "The import changed that flag since the page was shown; here it is as it is now. Dismiss it "
    "again if it still does not need looking at."
)


def _get_flag(request, pk: int) -> ContactFlag:
    """The flag, if the seat may see it (the contract's for admins, their Leads' otherwise)."""
    flags = ContactFlag.objects.filter(contract=request.contract).select_related("contact")
    if not request.seat.is_admin:
        flags = flags.filter(flags_of_seat(request.seat))
    return get_object_or_404(flags, pk=pk)


def _back(request):
    """Back to the list with the filters, sort and page it was shown with."""
    query = QueryDict(request.POST.get("query", ""))
    allowed = {name: query.get(name) for name in (*FlagListForm.FILTERS, "sort", "page")}
    kept = QueryDict(mutable=True)
    kept.update({name: value for name, value in allowed.items() if value})
    url = reverse("validation:flags")
    return redirect(f"{url}?{kept.urlencode()}" if kept else url)


@seat_required
@require_GET
def flags(request):
    """Flagged contacts, newest first, searched, filtered and sorted."""
    filters = FlagListForm(request.GET, seat=request.seat)
    page = Paginator(
        flags_list(seat=request.seat, **filters.selector_kwargs()), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    page.object_list = flags_decorate(seat=request.seat, flags=list(page.object_list))
    context = {
        "page": page,
        "filters": filters,
        "headers": filters.headers(),
        "query": query_without_page(request),
        "full_query": request.GET.urlencode(),
        "showing_dismissed": filters.value("dismissed") == "yes",
        "nav": "validation",
    }
    return render(request, "validation/flags.html", context)


def _flag_row(flag: ContactFlag) -> tuple:
    contact = flag.contact
    member = contact.member.full_name if contact.member_id else ""
    return (
        contact.full_name, contact.email, flag.account_name, member, flag.get_reason_display(),
        flag.detail, flag.updated_at, str(contact.crm_id),
    )  # fmt: skip


@seat_required
@require_GET
def flags_csv(request):
    """*Export CSV*: every flag the filters select, in the list's order."""
    filters = FlagListForm(request.GET, seat=request.seat)
    return csv_download(
        filename=csv_filename("data-validation", request.contract.name),
        header=[
            "Contact", "Email", "Account", "Network member", "Reason", "Details",
            "Flagged (UTC)", "CRM contact id",
        ],
        rows=queryset_rows(flags_list(seat=request.seat, **filters.selector_kwargs()), _flag_row),
    )  # fmt: skip


@seat_required
@require_POST
def dismiss(request, pk: int):
    """*Dismiss*: hidden until the flagged data changes."""
    flag = _get_flag(request, pk)
    if flag_dismiss(flag=flag, by=request.user):
        messages.success(
            request,
            f"Dismissed “{flag.get_reason_display()}” for {flag.contact}. It comes back if the "
            "flagged data changes.",
        )
    else:
        messages.warning(request, CHANGED_SINCE)
    return _back(request)


@seat_required
@require_POST
def show_again(request, pk: int):
    """Undo *Dismiss*."""
    flag = _get_flag(request, pk)
    flag_restore(flag=flag)
    messages.success(request, f"“{flag.get_reason_display()}” for {flag.contact} shows again.")
    return _back(request)


@seat_required
@require_POST
def follow_up(request, pk: int):
    """*Create a follow-up task in CRM* about the flag's contact, for one of its owners (a seat
    holder: themselves); a second ask for the same data makes no second task."""
    flag = _get_flag(request, pk)
    form = FollowUpForm(request.POST)
    seat = request.seat
    if request.seat.is_admin and form.is_valid() and form.cleaned_data["seat"]:
        seat = get_object_or_404(
            request.contract.seats.select_related("user"), pk=form.cleaned_data["seat"]
        )
    try:
        asked = follow_up_ask(contact=flag.contact, seat=seat, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(request)
    email = asked.follow_up.seat.user.email
    if asked.created:
        messages.success(
            request,
            f"Follow-up task created for {email} about {flag.contact}: it is on its way to your "
            "CRM.",
        )
    else:
        messages.info(
            request,
            f"A follow-up task for {email} about {flag.contact} was already created for this "
            "data; no second task was made.",
        )
    return _back(request)
