"""The signed-in person's own account pages that the portal serves instead of allauth's."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_http_methods


@login_required
@require_http_methods(["GET", "POST"])
def account_email(request):
    """Take the place of allauth's *Email Addresses* page: addresses are not self-service.

    A seat's email is how its holder signs in and how the seat maps to a CRM user (whose
    activities are then written as theirs), so only the contract admin sets it, on Seat
    Management; staff set it in the Django admin. Letting people add and make primary any address
    would let them borrow another CRM user's identity (README, "Security model"). A POST (allauth's
    add / make primary / remove) changes nothing and says so.
    """
    changing = request.method == "POST"
    return render(
        request,
        "seats/account_email.html",
        {"changing": changing, "admin_managed": request.seat is not None},
        status=403 if changing else 200,
    )
