from django.urls import path

from validation import views

app_name = "validation"

urlpatterns = [
    path("", views.flags, name="flags"),
    path("export.csv", views.flags_csv, name="flags_csv"),
    path("<int:pk>/dismiss/", views.dismiss, name="dismiss"),
    path("<int:pk>/show-again/", views.show_again, name="show_again"),
    path("<int:pk>/follow-up/", views.follow_up, name="follow_up"),
]
