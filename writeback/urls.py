from django.urls import path

from writeback import report_views, views

app_name = "writeback"

urlpatterns = [
    path("crm-copies/<int:pk>/retry/", views.retry, name="retry"),
    path("unresolved/", report_views.unresolved, name="unresolved"),
    path("crm-copies/failed/", report_views.failed, name="failed"),
    path("unresolved/<int:pk>/", report_views.unresolved_item, name="unresolved_item"),
    path(
        "unresolved/<int:pk>/resolve/", report_views.unresolved_resolve, name="unresolved_resolve"
    ),
    path("unresolved/<int:pk>/create/", report_views.unresolved_create, name="unresolved_create"),
]
