from django.urls import path

from sync import seat_views as views

# Seat Management and *Assign seats from CRM* live with the seat-to-CRM-user mapping (sync), but
# keep the ``seats:`` names and the /seats/ addresses people and templates know them by.
app_name = "seats"

urlpatterns = [
    path("", views.seat_management, name="list"),
    path("export.csv", views.seats_csv, name="export"),
    path("<int:seat_id>/edit/", views.seat_edit, name="edit"),
    path("sync/enable/", views.sync_enable, name="sync_enable"),
    path("sync/disable/", views.sync_disable, name="sync_disable"),
    path("invite/", views.invite, name="invite"),
    path("assign/", views.assign, name="assign"),
    path("assign/preview/", views.assign_preview, name="assign_preview"),
    path("assign/create/", views.assign_create, name="assign_create"),
    path("assign/refresh/", views.crm_users_refresh, name="crm_users_refresh"),
]
