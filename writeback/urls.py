from django.urls import path

from writeback import views

app_name = "writeback"

urlpatterns = [
    path("", views.inbox, name="inbox"),
]
