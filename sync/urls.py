from django.urls import path

from sync import views

app_name = "sync"

urlpatterns = [
    path("status/", views.status, name="status"),
    path("sync-now/", views.sync_now, name="sync_now"),
    path("history/", views.history, name="history"),
    path("runs/<int:pk>/", views.run, name="run"),
    path("records/", views.records, name="records"),
]
