"""The seat holder's Accounts and Leads, and a page per company and member.

The lists show what came from the CRM with the *In CRM* badge and a link to the record in
Dynamics, filter by "from CRM", and page through with a fixed number of queries. The company and
member pages say, for the CRM records that match them, whether they were imported for this seat
and if not which rule kept them out (read from the import through ``sync.selectors``, DESIGN §3).
"""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from crm_settings.selectors import crm_connection_get
from network.models import Company, Member, SavedAccount, SavedLead
from network.selectors import saved_account_list, saved_lead_list
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
def company(request, pk: int):
    """A network company: whether the seat saved it, and what the CRM says about it."""
    company = get_object_or_404(Company, pk=pk)
    connection = crm_connection_get(contract=request.contract)
    return render(
        request,
        "network/company.html",
        {
            "company": company,
            "save": SavedAccount.objects.filter(seat=request.seat, company=company).first(),
            "connection": connection,
            "records": company_crm_records(seat=request.seat, company_id=pk) if connection else [],
            "nav": "accounts",
        },
    )


@seat_holder_required
def member(request, pk: int):
    """A network member: whether the seat saved them, and what the CRM says about them."""
    member = get_object_or_404(Member.objects.select_related("company"), pk=pk)
    connection = crm_connection_get(contract=request.contract)
    return render(
        request,
        "network/member.html",
        {
            "member": member,
            "save": SavedLead.objects.filter(seat=request.seat, member=member).first(),
            "connection": connection,
            "records": member_crm_records(seat=request.seat, member_id=pk) if connection else [],
            "nav": "leads",
        },
    )
