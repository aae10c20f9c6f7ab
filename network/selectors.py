"""Reads for the seat holder's Accounts and Leads (a fixed number of queries per page)."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from network.models import Company, Member, SavedAccount, SavedLead
from seats.models import Contract, Seat


def saved_account_list(
    *, seat: Seat, from_crm: bool | None = None, search: str = ""
) -> QuerySet[SavedAccount]:
    """The seat's saved Accounts, by company name; ``search`` looks in the name and website."""
    saves = SavedAccount.objects.filter(seat=seat).select_related("company")
    if from_crm is not None:
        saves = saves.filter(from_crm=from_crm)
    for word in search.split()[:5]:
        saves = saves.filter(Q(company__name__icontains=word) | Q(company__domain__icontains=word))
    return saves.order_by("company__name", "pk")


def saved_lead_list(
    *, seat: Seat, from_crm: bool | None = None, search: str = ""
) -> QuerySet[SavedLead]:
    """The seat's saved Leads, by name; every word of ``search`` must appear in the member's
    name, headline or company."""
    saves = SavedLead.objects.filter(seat=seat).select_related("member", "member__company")
    if from_crm is not None:
        saves = saves.filter(from_crm=from_crm)
    for word in search.split()[:5]:
        saves = saves.filter(
            Q(member__first_name__icontains=word)
            | Q(member__last_name__icontains=word)
            | Q(member__headline__icontains=word)
            | Q(member__company_name__icontains=word)
            | Q(member__company__name__icontains=word)
        )
    return saves.order_by("member__last_name", "member__first_name", "pk")


def member_search(*, seat: Seat, query: str = "", limit: int = 20) -> QuerySet[Member]:
    """Members to write to: without ``query`` the seat's saved leads, else anyone matching it.

    Every word of the query must appear in the name, company or headline; the seat's saved leads
    come first.
    """
    members = Member.objects.select_related("company").annotate(
        is_saved=Exists(SavedLead.objects.filter(seat=seat, member=OuterRef("pk")))
    )
    words = query.split()[:5]
    if not words:
        members = members.filter(is_saved=True)
    for word in words:
        members = members.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(company_name__icontains=word)
            | Q(headline__icontains=word)
        )
    return members.order_by("-is_saved", "last_name", "first_name", "pk")[:limit]


def saved_lead_get(*, seat: Seat, member: Member) -> SavedLead | None:
    return SavedLead.objects.filter(seat=seat, member=member).first()


def saved_account_get(*, seat: Seat, company: Company) -> SavedAccount | None:
    return SavedAccount.objects.filter(seat=seat, company=company).first()


@dataclass(frozen=True)
class ImportedCounts:
    """How many Accounts and Leads the import has saved for the contract's seat holders."""

    accounts: int
    leads: int


def imported_saves_count(*, contract: Contract) -> ImportedCounts:
    """The contract's saved Accounts and Leads marked as imported from CRM, over every seat (a
    company saved by two seat holders counts twice: two saves). 2 queries."""
    return ImportedCounts(
        accounts=SavedAccount.objects.filter(seat__contract=contract, from_crm=True).count(),
        leads=SavedLead.objects.filter(seat__contract=contract, from_crm=True).count(),
    )
