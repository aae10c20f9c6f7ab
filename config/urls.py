"""Top-level URL map: one include per app, each with its own namespace."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "CRM Sync staff admin"
admin.site.site_title = "CRM Sync staff admin"

urlpatterns = [
    path("", include("portal.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin-settings/crm/", include("crm_settings.urls")),
    path("admin-settings/crm/sync/", include("sync.urls")),
    path("seats/", include("seats.urls")),
    path("network/", include("network.urls")),
    path("", include("inbox.urls")),
    path("", include("writeback.urls")),
    path("api/v1/", include("inbox.api.urls")),
    path("admin/", admin.site.urls),
]
