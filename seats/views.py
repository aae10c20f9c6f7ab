from django.core.paginator import Paginator
from django.shortcuts import render

from seats.access import admin_required
from seats.selectors import seat_list
from seats.services import seats_in_use

PAGE_SIZE = 50


@admin_required
def seat_management(request):
    seats = seat_list(contract=request.contract)
    page = Paginator(seats, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "seats/seat_list.html",
        {
            "page": page,
            "in_use": seats_in_use(contract=request.contract),
            "nav": "admin",
        },
    )
