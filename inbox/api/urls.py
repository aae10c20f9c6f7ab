from django.urls import path

from inbox.api import views

app_name = "api"

urlpatterns = [
    path("threads", views.threads, name="threads"),
    path("threads/<int:pk>", views.thread_detail, name="thread"),
    path("threads/<int:pk>/messages", views.thread_reply, name="thread_reply"),
    path("messages/<int:pk>", views.message_detail, name="message"),
    path("messages/<int:pk>/retry", views.message_retry, name="message_retry"),
    path("notes", views.notes, name="notes"),
    path("notes/<int:pk>", views.note_detail, name="note"),
    path("notes/<int:pk>/retry", views.note_retry, name="note_retry"),
    path("members", views.members, name="members"),
    path("openapi.json", views.openapi, name="openapi"),
    # Last: whatever else is asked for under /api/v1/ gets a JSON 404.
    path("<path:rest>", views.unknown, name="unknown"),
]
