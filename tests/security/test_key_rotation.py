"""A stored CRM sign-in the portal can no longer read (``PORTAL_ENCRYPTION_KEY`` changed without
keeping the old key) must never be a 500 or a crashed task.

Reproduced on main: CRM Settings and an unresolved task answered 500, *Refresh from CRM* on Seat
Management too, and the sync and writeback tasks died with ``TokenDecryptionError``. Each page
now says the stored CRM sign-in can no longer be read and to connect to CRM again; each task
records that error and stops, and the outbox keeps its items.
"""

import uuid

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from crm_settings.models import CrmConnection
from inbox.services import message_send
from sync.models import SyncRun
from sync.tasks import sync_run
from tests.factories import (
    CrmConnectionFactory,
    CrmSettingsFactory,
    MemberFactory,
    OutboxEntryFactory,
)
from writeback.models import OutboxEntry, OutboxState
from writeback.tasks import drain_outbox

pytestmark = pytest.mark.django_db

UNREADABLE = "The stored CRM sign-in can no longer be read"


@pytest.fixture
def unreadable(contract):
    """``contract`` connected, its token cache encrypted with a key the portal does not have."""
    foreign = Fernet(Fernet.generate_key()).encrypt(b'{"RefreshToken": {}}').decode()
    return CrmConnectionFactory(contract=contract, token_cache_encrypted=foreign)


def test_crm_settings_asks_to_connect_again(login, admin, unreadable):
    client = login(admin)
    response = client.get(reverse("crm_settings:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert UNREADABLE in page
    assert "Connect to CRM" in page
    # Opening the page writes nothing; the first use of the connection records the error.
    assert CrmConnection.objects.get().last_error_kind == ""
    assert client.post(reverse("crm_settings:refresh_choices")).status_code == 302
    connection = CrmConnection.objects.get()
    assert connection.status == CrmConnection.Status.ERROR
    assert connection.last_error_kind == "unreadable"
    assert UNREADABLE in client.get(reverse("crm_settings:index")).content.decode()


def test_an_unresolved_task_asks_to_connect_again(login, seat_holder, unreadable):
    entry = OutboxEntryFactory(message__thread__seat=seat_holder, sent=True, written_open=True)
    client = login(seat_holder)
    url = reverse("writeback:unresolved_item", args=[entry.pk])
    for query in ({}, {"q": "Jane"}):
        response = client.get(url, query)
        assert response.status_code == 200
        assert UNREADABLE in response.content.decode()


def test_resolving_an_unresolved_task_asks_to_connect_again(login, seat_holder, unreadable):
    entry = OutboxEntryFactory(message__thread__seat=seat_holder, sent=True, written_open=True)
    record = {"record_type": "contact", "record_id": str(uuid.uuid4()), "record_name": "Jane"}
    client = login(seat_holder)
    resolved = client.post(
        reverse("writeback:unresolved_resolve", args=[entry.pk]), record, follow=True
    )
    assert resolved.status_code == 200
    assert UNREADABLE in resolved.content.decode()
    created = client.post(
        reverse("writeback:unresolved_create", args=[entry.pk]),
        {"record_type": "contact", "first_name": "Jane", "last_name": "Doe"},
    )
    assert created.status_code == 400
    assert UNREADABLE in created.content.decode()


def test_refresh_from_crm_on_seat_management_asks_to_connect_again(login, admin, unreadable):
    response = login(admin).post(reverse("seats:crm_users_refresh"), follow=True)
    assert response.status_code == 200
    assert UNREADABLE in response.content.decode()


def test_the_sync_records_the_error_and_stops(contract, unreadable):
    outcome = sync_run(contract.pk, SyncRun.Trigger.SCHEDULE)
    run = SyncRun.objects.get()
    assert outcome == f"run {run.pk} failed"
    assert run.state == SyncRun.State.FAILED
    assert run.error_kind == "unreadable"
    assert CrmConnection.objects.get().last_error_kind == "unreadable"


def test_the_writeback_delivery_records_the_error_and_keeps_the_items(
    contract, seat_holder, unreadable
):
    CrmSettingsFactory(contract=contract, writeback=True)
    message_send(seat=seat_holder, member=MemberFactory(), body="Hello", copy_to_crm=True)
    assert drain_outbox(contract.pk) == 0
    entry = OutboxEntry.objects.get()
    assert entry.state == OutboxState.QUEUED
    assert entry.attempts == 0
    connection = CrmConnection.objects.get()
    assert connection.last_error_kind == "unreadable"
    assert connection.status == CrmConnection.Status.ERROR
