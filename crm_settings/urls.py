from django.urls import path

from crm_settings import pause_views, views

app_name = "crm_settings"

urlpatterns = [
    path("", views.index, name="index"),
    path("connect/", views.connect, name="connect"),
    path("callback/", views.callback, name="callback"),
    path("refresh/", views.refresh_choices, name="refresh_choices"),
    path("check/", views.check_connection, name="check_connection"),
    path("settings/", views.save_sync_settings, name="save_sync_settings"),
    path("writeback/", views.save_writeback_settings, name="save_writeback_settings"),
    path("disconnect/", views.disconnect, name="disconnect"),
    path("resume-sync/", pause_views.resume_sync, name="resume_sync"),
    path("resume-writeback/", pause_views.resume_writeback, name="resume_writeback"),
    path("auto-pause/", pause_views.save_pause_settings, name="save_pause_settings"),
]
