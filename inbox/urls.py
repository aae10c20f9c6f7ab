from django.urls import path

from inbox import views

app_name = "inbox"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/new-inmail/", views.compose, {"kind": "inmail"}, name="new_inmail"),
    path("inbox/new-message/", views.compose, {"kind": "message"}, name="new_message"),
    path("inbox/<int:pk>/", views.thread_detail, name="thread"),
    path("inbox/<int:pk>/copy/", views.thread_copy, name="thread_copy"),
    path("inbox/messages/<int:pk>/copy/", views.message_copy, name="message_copy"),
    path("notes/lead/<int:member_id>/", views.lead_notes, name="lead_notes"),
    path("notes/account/<int:company_id>/", views.account_notes, name="account_notes"),
    path("notes/<int:pk>/copy/", views.note_copy, name="note_copy"),
    path("mobile-app-tokens/", views.api_tokens, name="api_tokens"),
    path("mobile-app-tokens/<int:pk>/revoke/", views.revoke_api_token, name="revoke_api_token"),
]
