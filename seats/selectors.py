"""Reads for Seat Management, shaped so a page costs a fixed number of queries."""

from django.db.models import QuerySet

from seats.models import Contract, Seat


def seat_list(*, contract: Contract) -> QuerySet[Seat]:
    return Seat.objects.filter(contract=contract).select_related("user").order_by("user__email")
