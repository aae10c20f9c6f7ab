"""The mobile JSON API: token auth, scoping, JSON errors with field messages, and each endpoint."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inbox.models import Message, Note, Thread
from inbox.services import api_token_create, api_token_revoke
from tests.factories import (
    MessageFactory,
    NoteFactory,
    OutboxEntryFactory,
    SavedLeadFactory,
    ThreadFactory,
)
from writeback.models import OutboxState

pytestmark = pytest.mark.django_db


class Api:
    """A test client that signs every request with a seat's app token."""

    def __init__(self, client: Client, token: str):
        self.client, self.token = client, token

    def __call__(self, method, url, body=None, *, raw=None, content_type="application/json"):
        kwargs = {"headers": {"Authorization": f"Bearer {self.token}"}}
        if body is not None or raw is not None:
            kwargs["data"] = raw if raw is not None else json.dumps(body)
            kwargs["content_type"] = content_type
        return getattr(self.client, method)(url, **kwargs)


@pytest.fixture
def api_for(client):
    def _api_for(seat):
        _, token = api_token_create(user=seat.user, name=f"phone of {seat.pk}")
        return Api(client, token)

    return _api_for


@pytest.fixture
def api(api_for, seat_holder):
    return api_for(seat_holder)


def _error(response) -> dict:
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


# --- Authentication and roles -------------------------------------------------------------------


def test_it_requires_a_token(client, seat_holder):
    response = client.get(reverse("api:threads"))
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_browser_session_is_not_enough(client, seat_holder):
    client.force_login(seat_holder.user)
    assert client.get(reverse("api:threads")).status_code == 401


def test_a_wrong_or_revoked_token_is_refused(client, seat_holder):
    response = Api(client, "not-a-token")("get", reverse("api:threads"))
    assert response.status_code == 401
    token, raw = api_token_create(user=seat_holder.user, name="Phone")
    assert Api(client, raw)("get", reverse("api:threads")).status_code == 200
    api_token_revoke(token=token)
    response = Api(client, raw)("get", reverse("api:threads"))
    assert response.status_code == 401
    assert _error(response)["message"] == "This token is not valid, or it was revoked."


def test_admin_only_seats_are_forbidden(api_for, admin_only):
    response = api_for(admin_only)("get", reverse("api:threads"))
    assert response.status_code == 403
    assert _error(response)["code"] == "forbidden"


def test_writes_need_no_csrf_token(seat_holder, member):
    _, raw = api_token_create(user=seat_holder.user, name="Phone")
    api = Api(Client(enforce_csrf_checks=True), raw)
    body = {"kind": "message", "member_id": member.pk, "body": "Hi"}
    assert api("post", reverse("api:threads"), body).status_code == 201


# --- Scoping ------------------------------------------------------------------------------------


def test_another_seats_thread_is_404(api, admin, outsider):
    for owner in (admin, outsider):
        thread = ThreadFactory(seat=owner)
        response = api("get", reverse("api:thread", args=[thread.pk]))
        assert response.status_code == 404
        assert _error(response)["code"] == "not_found"
        response = api("patch", reverse("api:thread", args=[thread.pk]), {"copy_to_crm": True})
        assert response.status_code == 404


def test_another_seats_message_and_note_are_404(api, admin):
    message = MessageFactory(thread__seat=admin)
    note = NoteFactory(seat=admin)
    assert api("get", reverse("api:message", args=[message.pk])).status_code == 404
    assert api("get", reverse("api:note", args=[note.pk])).status_code == 404
    assert (
        api(
            "post", reverse("api:thread_reply", args=[message.thread_id]), {"body": "x"}
        ).status_code
        == 404
    )


def test_an_unknown_url_is_a_json_404(api):
    response = api("get", "/api/v1/nothing/here")
    assert response.status_code == 404
    assert "openapi.json" in _error(response)["message"]


def test_a_wrong_method_is_405_with_allow(api):
    response = api("delete", reverse("api:threads"))
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert _error(response)["code"] == "method_not_allowed"


# --- Bad bodies ---------------------------------------------------------------------------------


def test_bad_json_is_400(api):
    response = api("post", reverse("api:threads"), raw="{not json")
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_json"
    response = api("post", reverse("api:threads"), raw="[1, 2]")
    assert _error(response)["message"] == "The body must be a JSON object."


def test_a_body_that_is_not_json_is_415(api):
    response = api("post", reverse("api:threads"), raw="body=hi", content_type="text/plain")
    assert response.status_code == 415
    assert _error(response)["code"] == "unsupported_media_type"


def test_fields_of_the_wrong_type_or_unknown_are_400_with_field_messages(api):
    body = {"kind": "message", "member_id": "7", "body": 5, "copy_to_crm": "yes", "to": "x"}
    response = api("post", reverse("api:threads"), body)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid_fields"
    assert error["fields"] == {
        "member_id": ["Must be a whole number."],
        "body": ["Must be a string."],
        "copy_to_crm": ["Must be true or false."],
        "to": ["Unknown field. This endpoint takes: kind, member_id, subject, body, copy_to_crm."],
    }


def test_missing_and_invalid_fields_are_400_with_field_messages(api):
    response = api("post", reverse("api:threads"), {"kind": "inmail", "member_id": 999})
    assert _error(response)["fields"] == {
        "member_id": ["That member does not exist. Choose someone from the list."],
        "subject": ["An InMail needs a subject."],
        "body": ["Write your message."],
    }
    response = api("post", reverse("api:threads"), {"kind": "fax"})
    assert _error(response)["fields"] == {"kind": ['Must be "inmail" or "message".']}


def test_a_message_has_no_subject(api, member):
    body = {"kind": "message", "member_id": member.pk, "subject": "Hi", "body": "x"}
    response = api("post", reverse("api:threads"), body)
    assert _error(response)["fields"] == {"subject": ["Only InMails have a subject."]}


def test_toggling_needs_copy_to_crm(api, seat_holder):
    message = MessageFactory(thread__seat=seat_holder)
    response = api("patch", reverse("api:message", args=[message.pk]), {})
    assert _error(response)["fields"] == {"copy_to_crm": ["This field is required."]}


# --- Threads and messages -----------------------------------------------------------------------


def test_threads_are_listed_a_page_at_a_time(api, seat_holder):
    for thread in ThreadFactory.create_batch(30, seat=seat_holder):
        MessageFactory(thread=thread, received=True, body="Hello there")
    page = api("get", reverse("api:threads")).json()
    assert (page["count"], page["pages"], len(page["results"])) == (30, 2, 25)
    assert page["next"].endswith("/api/v1/threads?page=2")
    first = page["results"][0]
    assert first["last_message"] == {"snippet": "Hello there", "direction": "received"}
    assert first["unread"] is True
    assert api("get", page["next"]).json()["next"] is None
    response = (
        api("get", reverse("api:threads"), None)
        if False
        else api("get", reverse("api:threads") + "?page=9")
    )
    assert _error(response)["fields"] == {"page": ["Must be between 1 and 2."]}


def test_listing_threads_costs_the_same_queries_for_few_or_many(api, seat_holder):
    api("get", reverse("api:threads"))  # the token's first use of the minute writes last_used_at
    counts = []
    for batch in (3, 40):
        for thread in ThreadFactory.create_batch(batch, seat=seat_holder):
            MessageFactory(thread=thread)
        with CaptureQueriesContext(connection) as queries:
            assert api("get", reverse("api:threads")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8


def test_sending_a_message_with_copy_to_crm(api, member, writeback_on):
    body = {"kind": "message", "member_id": member.pk, "body": "Hi Jane", "copy_to_crm": True}
    response = api("post", reverse("api:threads"), body)
    assert response.status_code == 201
    thread = response.json()
    assert (thread["kind"], thread["copy_to_crm"], thread["copy_available"]) == (
        "message", True, True,
    )  # fmt: skip
    [message] = thread["messages"]
    assert message["body"] == "Hi Jane"
    assert message["delivery"]["state"] == "queued"
    assert message["delivery"]["activity_id"] == str(Message.objects.get().delivery.activity_id)


def test_copy_to_crm_defaults_to_the_last_choice(api, member, writeback_on):
    url = reverse("api:threads")
    api("post", url, {"kind": "inmail", "member_id": member.pk, "subject": "S", "body": "a"})
    assert Thread.objects.get().copy_to_crm is True
    body = {"kind": "inmail", "member_id": member.pk, "subject": "T", "body": "b"}
    api("post", url, {**body, "copy_to_crm": False})
    api("post", url, {**body, "subject": "U"})
    assert Thread.objects.get(subject="U").copy_to_crm is False


def test_without_writeback_copy_to_crm_is_ignored_and_unavailable(api, member):
    body = {"kind": "message", "member_id": member.pk, "body": "Hi", "copy_to_crm": True}
    thread = api("post", reverse("api:threads"), body).json()
    assert (thread["copy_available"], thread["copy_to_crm"]) == (False, False)
    assert thread["messages"][0]["delivery"] is None


def test_reading_a_thread_marks_it_read(api, seat_holder):
    thread = ThreadFactory(seat=seat_holder)
    MessageFactory(thread=thread, received=True)
    payload = api("get", reverse("api:thread", args=[thread.pk])).json()
    assert payload["read_at"] is not None and len(payload["messages"]) == 1
    assert api("get", reverse("api:threads")).json()["results"][0]["unread"] is False


def test_a_reply_follows_the_threads_checkbox_unless_told(api, seat_holder, writeback_on):
    thread = ThreadFactory(seat=seat_holder, copy_to_crm=True)
    url = reverse("api:thread_reply", args=[thread.pk])
    response = api("post", url, {"body": "Thanks"})
    assert response.status_code == 201
    assert response.json()["delivery"]["state"] == "queued"
    assert api("post", url, {"body": "Not this", "copy_to_crm": False}).json()["delivery"] is None


def test_ticking_and_unticking_a_message(api, seat_holder, writeback_on):
    message = MessageFactory(thread__seat=seat_holder)
    url = reverse("api:message", args=[message.pk])
    assert api("patch", url, {"copy_to_crm": True}).json()["delivery"]["state"] == "queued"
    payload = api("patch", url, {"copy_to_crm": False}).json()
    assert (payload["copy_to_crm"], payload["delivery"]["state"]) == (False, "withdrawn")
    assert api("get", url).json()["delivery"]["label"] == "Withdrawn"


def test_ticking_a_type_the_admin_does_not_copy_is_400(api, seat_holder):
    message = MessageFactory(thread__seat=seat_holder)
    response = api("patch", reverse("api:message", args=[message.pk]), {"copy_to_crm": True})
    assert response.status_code == 400
    assert _error(response) == {
        "code": "invalid",
        "message": "Your admin has not turned on copying Messages to the CRM.",
    }


def test_copy_thread_to_crm(api, seat_holder, writeback_on):
    thread = ThreadFactory(seat=seat_holder)
    MessageFactory.create_batch(2, thread=thread)
    payload = api("patch", reverse("api:thread", args=[thread.pk]), {"copy_to_crm": True}).json()
    assert payload["copy_to_crm"] is True
    assert [m["delivery"]["state"] for m in payload["messages"]] == ["queued", "queued"]


def test_delivery_state_tells_a_failure_and_what_to_do(api, seat_holder, writeback_on):
    entry = OutboxEntryFactory(message__thread__seat=seat_holder, failed=True)
    delivery = api("get", reverse("api:message", args=[entry.message_id])).json()["delivery"]
    assert delivery["state"] == "failed"
    assert delivery["error"]["reason"].startswith("Your CRM account does not have sufficient")
    assert delivery["error"]["next_step"].startswith("Ask your CRM administrator")
    response = api("post", reverse("api:message_retry", args=[entry.message_id]))
    assert response.json()["delivery"]["state"] == "queued"
    response = api("post", reverse("api:message_retry", args=[entry.message_id]))
    assert _error(response)["message"] == "Only failed items can be retried; this one is queued."


def test_retrying_an_item_never_copied_is_400(api, seat_holder):
    message = MessageFactory(thread__seat=seat_holder)
    response = api("post", reverse("api:message_retry", args=[message.pk]))
    assert response.status_code == 400


def test_sent_items_link_to_their_crm_activity(api, seat_holder, writeback_on):
    entry = OutboxEntryFactory(message__thread__seat=seat_holder, sent=True)
    delivery = api("get", reverse("api:message", args=[entry.message_id])).json()["delivery"]
    assert delivery["crm_url"] == entry.crm_url and delivery["written_open"] is False


# --- Notes and members --------------------------------------------------------------------------


def test_writing_a_note_on_a_lead_with_copy_to_crm(api, member, writeback_on):
    body = {"member_id": member.pk, "body": "Decision maker", "copy_to_crm": True}
    response = api("post", reverse("api:notes"), body)
    assert response.status_code == 201
    note = response.json()
    assert (note["about"], note["member_id"], note["delivery"]["state"]) == (
        "Jane Doe", member.pk, "queued",
    )  # fmt: skip
    listed = api("get", reverse("api:notes") + f"?member_id={member.pk}").json()["results"]
    assert [n["id"] for n in listed] == [note["id"]]


def test_a_note_names_a_lead_or_an_account(api, member):
    url = reverse("api:notes")
    response = api("post", url, {"body": "x"})
    assert (
        _error(response)["message"] == "Give either member_id (a lead) or company_id (an account)."
    )
    body = {"body": "x", "member_id": member.pk, "company_id": member.company_id}
    assert api("post", url, body).status_code == 400
    response = api("post", url, {"body": "", "company_id": 999})
    assert _error(response)["fields"] == {
        "body": ["Write your note."],
        "company_id": ["There is no company with this id."],
    }
    assert not Note.objects.exists()


def test_listing_notes_needs_a_lead_or_an_account(api):
    response = api("get", reverse("api:notes"))
    assert _error(response)["fields"] == {"member_id": ["Give either member_id or company_id."]}
    response = api("get", reverse("api:notes") + "?company_id=abc")
    assert _error(response)["fields"] == {"company_id": ["Must be a whole number."]}


def test_unticking_a_note(api, seat_holder, member, writeback_on):
    note = api("post", reverse("api:notes"), {"member_id": member.pk, "body": "x"}).json()
    url = reverse("api:note", args=[note["id"]])
    assert api("patch", url, {"copy_to_crm": False}).json()["delivery"]["state"] == "withdrawn"
    assert api("get", url).json()["copy_to_crm"] is False


def test_retrying_a_note(api, seat_holder, member, writeback_on):
    note = NoteFactory(seat=seat_holder, copy_to_crm=True)
    OutboxEntryFactory(message=None, note=note, item_type="note", failed=True, seat=seat_holder)
    response = api("post", reverse("api:note_retry", args=[note.pk]))
    assert response.json()["delivery"]["state"] == OutboxState.QUEUED


def test_members_to_write_to(api, seat_holder, member):
    SavedLeadFactory(seat=seat_holder, member__first_name="Saved")
    results = api("get", reverse("api:members")).json()["results"]
    assert [m["name"].split()[0] for m in results] == ["Saved"]
    results = api("get", reverse("api:members") + "?q=jane").json()["results"]
    assert results[0]["name"] == "Jane Doe" and results[0]["saved_lead"] is False


def test_the_openapi_description_is_public(client):
    response = client.get(reverse("api:openapi"))
    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"
