"""The seat holder's Accounts and Leads, and a page per company (account) and member (lead).

The lists show what came from the CRM with the *In CRM* badge and a link to the record in
Dynamics, the stage, value and owner of the open opportunity it is on, and the last message or
note about it; they search, filter by "from CRM", sort by any of those columns and page through
with a fixed number of queries. The account and lead pages say, for the CRM records that match
them, whether they were imported for this seat and if not which rule kept them out.

The opportunity's facts are the import's and the last activity the inbox's, two apps above this
one: the views read them through those apps' selectors (``sync.selectors``,
``inbox.selectors``), the two exceptions to the layers named in pyproject.toml (DESIGN §3).
"""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from common.lists import query_without_page
from crm_settings.selectors import crm_connection_get
from inbox.selectors import saves_with_last_activity
from network.forms import AccountListForm, LeadListForm
from network.models import Company, Member
from network.selectors import (
    saved_account_get,
    saved_account_list,
    saved_lead_get,
    saved_lead_list,
)
from seats.access import seat_holder_required
from sync.selectors import (
    company_crm_records,
    member_crm_records,
    saves_with_opportunity,
    seat_import_status,
)

PAGE_SIZE = 50


def _list_page(request, *, kind: str, form, saves, template: str):
    """One page of the Accounts or Leads list: the saves with their CRM opportunity (sync) and
    last activity (inbox) columns, searched, filtered and sorted in the database."""
    connection = crm_connection_get(contract=request.contract)
    saves = saves_with_opportunity(saves=saves, seat=request.seat, connection=connection, kind=kind)
    saves = saves_with_last_activity(saves=saves, seat=request.seat, kind=kind)
    page = Paginator(saves.order_by(*form.ordering()), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        template,
        {
            "page": page,
            "filters": form,
            "headers": form.headers(),
            "query": query_without_page(request),
            "nav": f"{kind}s",
            "connection": connection,
            "crm_status": seat_import_status(seat=request.seat) if connection else None,
        },
    )


@seat_holder_required
@require_GET
def accounts(request):
    form = AccountListForm(request.GET)
    saves = saved_account_list(seat=request.seat, from_crm=form.from_crm, search=form.search)
    return _list_page(
        request, kind="account", form=form, saves=saves, template="network/accounts.html"
    )


@seat_holder_required
@require_GET
def leads(request):
    form = LeadListForm(request.GET)
    saves = saved_lead_list(seat=request.seat, from_crm=form.from_crm, search=form.search)
    return _list_page(request, kind="lead", form=form, saves=saves, template="network/leads.html")


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
