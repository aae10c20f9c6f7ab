from django.urls import path

from crm_settings import views

app_name = "crm_settings"

urlpatterns = [
    path("", views.index, name="index"),
]
