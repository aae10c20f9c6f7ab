from django.urls import path

from sync import views

app_name = "sync"

urlpatterns = [
    path("status/", views.status, name="status"),
    path("sync-now/", views.sync_now, name="sync_now"),
    path("history/", views.history, name="history"),
    path("runs/<int:pk>/", views.run, name="run"),
    path("runs/<int:pk>/problems.csv", views.run_problems_csv, name="run_problems_export"),
    path("records/", views.records, name="records"),
]
