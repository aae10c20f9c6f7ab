"""Top-level URL map: one include per app, each with its own namespace."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from inbox.api import urls as inbox_api_urls
from seats import views as seat_views
from writeback import api_urls as writeback_api_urls

admin.site.site_header = "CRM Sync staff admin"
admin.site.site_title = "CRM Sync staff admin"
# Staff sign in through the portal's sign-in page, with its limits on failed attempts; the
# admin's own login form (which has none) only sends them there.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", include("portal.urls")),
    # Email addresses are set by the contract admin, never self-service (seats.views.account_email);
    # this comes before allauth's own page at the same address.
    path("accounts/email/", seat_views.account_email, name="account_email"),
    path("accounts/time-zone/", seat_views.time_zone, name="time_zone"),
    path("accounts/", include("allauth.urls")),
    path("crm-sync/", include("overview.urls")),
    path("admin-settings/crm/", include("crm_settings.urls")),
    path("admin-settings/crm/sync/", include("sync.urls")),
    path("admin-settings/alerts/", include("alerts.urls")),
    path("seats/", include("sync.seat_urls")),
    path("network/", include("network.urls")),
    path("", include("inbox.urls")),
    path("", include("writeback.urls")),
    path("reports/", include("reports.urls")),
    path("data-validation/", include("validation.urls")),
    # The mobile API is one namespace served by two apps: the inbox's endpoints and the
    # writeback's *Retry*, which comes first because the inbox's last route is the JSON 404.
    path(
        "api/v1/",
        include((writeback_api_urls.urlpatterns + inbox_api_urls.urlpatterns, "api")),
    ),
    path("admin/", admin.site.urls),
]
