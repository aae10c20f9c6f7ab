"""The signed-in person's own account pages that the portal serves instead of allauth's."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from seats.forms import TimeZoneForm
from seats.services import user_time_zone_set
from seats.timezones import COOKIE, zone_valid


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


@login_required
@require_http_methods(["GET", "POST"])
def time_zone(request):
    """*Time zone*: the zone the portal shows times in, the browser's unless chosen here."""
    browser = request.COOKIES.get(COOKIE, "")
    browser = browser if zone_valid(browser) else ""
    form = TimeZoneForm(
        request.POST or None,
        initial={"time_zone": request.user.time_zone},
        browser_zone=browser,
    )
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["time_zone"]
        user_time_zone_set(user=request.user, time_zone=chosen)
        shown = chosen or browser or "your browser's time zone"
        messages.success(request, f"Times are now shown in {shown}.")
        return redirect("time_zone")
    return render(
        request,
        "seats/time_zone.html",
        {"form": form, "browser_zone": browser},
        status=400 if form.errors else 200,
    )
