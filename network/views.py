from django.core.paginator import Paginator
from django.shortcuts import render

from network.selectors import saved_account_list, saved_lead_list
from seats.access import seat_holder_required

PAGE_SIZE = 50
_SOURCE_FILTERS = {"crm": True, "manual": False}


def _source(request):
    """The list's "from CRM" filter: ``?source=crm`` or ``?source=manual``, else everything."""
    return _SOURCE_FILTERS.get(request.GET.get("source", ""))


@seat_holder_required
def accounts(request):
    saves = saved_account_list(seat=request.seat, from_crm=_source(request))
    page = Paginator(saves, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "network/accounts.html",
        {"page": page, "source": request.GET.get("source", ""), "nav": "accounts"},
    )


@seat_holder_required
def leads(request):
    saves = saved_lead_list(seat=request.seat, from_crm=_source(request))
    page = Paginator(saves, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "network/leads.html",
        {"page": page, "source": request.GET.get("source", ""), "nav": "leads"},
    )
