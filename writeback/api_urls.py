"""The writeback's routes of the mobile API: *Retry* (namespace ``api``, under ``/api/v1/``).

``config.urls`` serves them in one namespace with the inbox's (``inbox.api.urls``), before them.
"""

from django.urls import path

from writeback import api_views

urlpatterns = [
    path("messages/<int:pk>/retry", api_views.message_retry, name="message_retry"),
    path("notes/<int:pk>/retry", api_views.note_retry, name="note_retry"),
]
