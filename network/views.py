from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from network.models import Company, Member
from network.selectors import (
    saved_account_get,
    saved_account_list,
    saved_lead_get,
    saved_lead_list,
)
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


@seat_holder_required
@require_GET
def lead(request, member_id: int):
    """A member of the network, and whether the seat holder saved them as a lead.

    Members are shared by every contract, so any seat holder may open any of them; what is
    private (the save, the notes) is the seat's own.
    """
    member = get_object_or_404(Member.objects.select_related("company"), pk=member_id)
    save = saved_lead_get(seat=request.seat, member=member)
    return render(request, "network/lead.html", {"member": member, "save": save, "nav": "leads"})


@seat_holder_required
@require_GET
def account(request, company_id: int):
    """A company of the network, and whether the seat holder saved it as an account."""
    company = get_object_or_404(Company, pk=company_id)
    save = saved_account_get(seat=request.seat, company=company)
    context = {"company": company, "save": save, "nav": "accounts"}
    return render(request, "network/account.html", context)
