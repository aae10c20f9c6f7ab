"""The inbox's routes of the mobile API (namespace ``api``, under ``/api/v1/``).

``config.urls`` serves them in one namespace after the writeback's (``writeback.api_urls``,
*Retry*), because the last route here answers anything else with a JSON 404.
"""

from django.urls import path

from inbox.api import views

urlpatterns = [
    path("threads", views.threads, name="threads"),
    path("threads/<int:pk>", views.thread_detail, name="thread"),
    path("threads/<int:pk>/messages", views.thread_reply, name="thread_reply"),
    path("messages/<int:pk>", views.message_detail, name="message"),
    path("notes", views.notes, name="notes"),
    path("notes/<int:pk>", views.note_detail, name="note"),
    path("members", views.members, name="members"),
    path("openapi.json", views.openapi, name="openapi"),
    # Last: whatever else is asked for under /api/v1/ gets a JSON 404.
    path("<path:rest>", views.unknown, name="unknown"),
]
