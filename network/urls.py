from django.urls import path

from network import views

app_name = "network"

urlpatterns = [
    path("accounts/", views.accounts, name="accounts"),
    path("leads/", views.leads, name="leads"),
    path("companies/<int:pk>/", views.company, name="company"),
    path("people/<int:pk>/", views.member, name="member"),
]
