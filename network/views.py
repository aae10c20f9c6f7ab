"""The seat holder's Accounts and Leads, and a page per company (account) and member (lead).

The lists show what came from the CRM with the *In CRM* badge and a link to the record in
Dynamics, filter by "from CRM", and page through with a fixed number of queries. The account and
lead pages say, for the CRM records that match them, whether they were imported for this seat
and if not which rule kept them out (read from the import through ``sync.selectors``, DESIGN §3).
"""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from crm_settings.selectors import crm_connection_get
from network.models import Company, Member
from network.selectors import (
    saved_account_get,
    saved_account_list,
    saved_lead_get,
    saved_lead_list,
)
from seats.access import seat_holder_required
from sync.selectors import company_crm_records, member_crm_records, seat_import_status

PAGE_SIZE = 50
_SOURCE_FILTERS = {"crm": True, "manual": False}


def _source(request):
    """The list's "from CRM" filter: ``?source=crm`` or ``?source=manual``, else everything."""
    return _SOURCE_FILTERS.get(request.GET.get("source", ""))


def _list_page(request, saves, template: str, nav: str):
    page = Paginator(saves, PAGE_SIZE).get_page(request.GET.get("page"))
    connection = crm_connection_get(contract=request.contract)
    return render(
        request,
        template,
        {
            "page": page,
            "source": request.GET.get("source", ""),
            "nav": nav,
            "connection": connection,
            "crm_status": seat_import_status(seat=request.seat) if connection else None,
        },
    )


@seat_holder_required
def accounts(request):
    saves = saved_account_list(seat=request.seat, from_crm=_source(request))
    return _list_page(request, saves, "network/accounts.html", "accounts")


@seat_holder_required
def leads(request):
    saves = saved_lead_list(seat=request.seat, from_crm=_source(request))
    return _list_page(request, saves, "network/leads.html", "leads")


@seat_holder_required
@require_GET
def lead(request, member_id: int):
    """A member of the network, whether the seat holder saved them as a lead, and what the CRM
    says about them.

    Members are shared by every contract, so any seat holder may open any of them; what is
    private (the save, the notes, the CRM records) is the seat's or its contract's own.
    """
    member = get_object_or_404(Member.objects.select_related("company"), pk=member_id)
    connection = crm_connection_get(contract=request.contract)
    context = {
        "member": member,
        "save": saved_lead_get(seat=request.seat, member=member),
        "connection": connection,
        "records": member_crm_records(seat=request.seat, member_id=member.pk) if connection else [],
        "nav": "leads",
    }
    return render(request, "network/lead.html", context)


@seat_holder_required
@require_GET
def account(request, company_id: int):
    """A company of the network, whether the seat holder saved it as an account, and what the
    CRM says about it."""
    company = get_object_or_404(Company, pk=company_id)
    connection = crm_connection_get(contract=request.contract)
    records = company_crm_records(seat=request.seat, company_id=company.pk) if connection else []
    context = {
        "company": company,
        "save": saved_account_get(seat=request.seat, company=company),
        "connection": connection,
        "records": records,
        "nav": "accounts",
    }
    return render(request, "network/account.html", context)
