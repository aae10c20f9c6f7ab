from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("won-revenue/", views.won_revenue, name="won_revenue"),
    path("won-revenue/export.csv", views.won_revenue_csv, name="won_revenue_csv"),
    path("matches/", views.matches, name="matches"),
    path("matches/export.csv", views.matches_csv, name="matches_csv"),
    path("audit/", views.audit, name="audit"),
    path("audit/export.csv", views.audit_csv, name="audit_csv"),
]
