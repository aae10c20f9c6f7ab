"""Admin > CRM Sync: the overview page (Admin and Admin only seats)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from overview.selectors import overview_get
from seats.access import admin_required


@admin_required
@require_GET
def index(request):
    """Status, numbers and the last 30 days, from the database alone (no request to Dynamics)."""
    overview = overview_get(contract=request.contract)
    return render(request, "overview/index.html", {"overview": overview, "nav": "admin"})
