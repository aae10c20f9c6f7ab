from django.shortcuts import render

from seats.access import admin_required


@admin_required
def index(request):
    """Admin > Admin Settings > CRM Settings."""
    return render(request, "crm_settings/index.html", {"nav": "admin"})
