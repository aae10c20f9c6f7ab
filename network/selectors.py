"""Reads for the seat holder's Accounts and Leads lists (a fixed number of queries per page)."""

from django.db.models import QuerySet

from network.models import SavedAccount, SavedLead
from seats.models import Seat


def saved_account_list(*, seat: Seat, from_crm: bool | None = None) -> QuerySet[SavedAccount]:
    saves = SavedAccount.objects.filter(seat=seat).select_related("company")
    if from_crm is not None:
        saves = saves.filter(from_crm=from_crm)
    return saves.order_by("company__name", "pk")


def saved_lead_list(*, seat: Seat, from_crm: bool | None = None) -> QuerySet[SavedLead]:
    saves = SavedLead.objects.filter(seat=seat).select_related("member", "member__company")
    if from_crm is not None:
        saves = saves.filter(from_crm=from_crm)
    return saves.order_by("member__last_name", "member__first_name", "pk")
