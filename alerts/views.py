"""Admin > Admin Settings > CRM Settings > *Alert emails*: one admin's alert choices, and what is
wrong on the contract right now. Admin and Admin only seats; each admin sets their own."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alerts.forms import AlertPreferencesForm
from alerts.selectors import alert_preferences_get, incidents_open
from alerts.services import alert_preferences_update
from seats.access import admin_required


@admin_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    seat = request.seat
    form = AlertPreferencesForm(
        request.POST if request.method == "POST" else None,
        preferences=alert_preferences_get(seat=seat),
    )
    if request.method == "POST" and form.is_valid():
        alert_preferences_update(
            seat=seat,
            wanted_kinds=form.wanted_kinds(),
            daily_digest=form.daily_digest,
            by=request.user,
        )
        messages.success(request, "Alert emails saved.")
        return redirect("alerts:preferences")
    return render(
        request,
        "alerts/preferences.html",
        {"nav": "admin", "form": form, "incidents": incidents_open(contract=request.contract)},
        status=400 if form.is_bound else 200,
    )
