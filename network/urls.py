from django.urls import path

from network import views

app_name = "network"

urlpatterns = [
    path("accounts/", views.accounts, name="accounts"),
    path("accounts/<int:company_id>/", views.account, name="account"),
    path("leads/", views.leads, name="leads"),
    path("leads/<int:member_id>/", views.lead, name="lead"),
]
