"""A full run's logs, at DEBUG, hold no token and no secret: connecting, a full import, a token
refresh and a writeback drain against the emulator, with every log line captured as the portal
writes it (JSON)."""

import json
import logging
import re

import pytest
from django.conf import settings

from inbox.services import message_send
from network.models import Member
from sync.models import CrmContact, SyncRun
from sync.tasks import sync_run
from tests.sync.conftest import SEAT_HOLDERS
from tests.writeback.conftest import copy_everything
from writeback.models import OutboxEntry, OutboxState
from writeback.tasks import drain_outbox

pytestmark = [pytest.mark.emulator, pytest.mark.django_db]


def _token_secrets(connection) -> set[str]:
    """Every token in the contract's stored sign-in (msal's cache: access, refresh, id)."""
    cache = json.loads(connection.token_cache)
    return {
        entry["secret"]
        for section in ("AccessToken", "RefreshToken", "IdToken")
        for entry in cache.get(section, {}).values()
    }


@pytest.fixture
def msal_at_debug():
    """msal too (the settings keep it at WARNING): the redaction must hold without that."""
    msal = logging.getLogger("msal")
    level = msal.level
    msal.setLevel(logging.DEBUG)
    yield
    msal.setLevel(level)


def test_a_sync_and_a_drain_log_no_token_or_secret(
    msal_at_debug, portal_logs, connected, crm, monkeypatch
):
    """GIVEN every logger at DEBUG, captured from before the admin connects
    WHEN a full import runs, the CRM's access tokens expire (the next call refreshes the
    sign-in), and a drain copies a seat holder's messages
    THEN no line holds any token the emulator issued, the sign-in's code, the client secret, the
    encryption keys, the stored (encrypted) sign-in or Django's secret key; and the lines carry
    their ids."""
    connection = connected.crm_connection
    issued = _token_secrets(connection)

    answer = sync_run(connected.pk, SyncRun.Trigger.MANUAL)
    run = SyncRun.objects.get(contract=connected)
    assert answer == f"run {run.pk} succeeded"

    copy_everything(connected, monkeypatch)
    rep = connected.seats.get(user__email=SEAT_HOLDERS[0])
    members = Member.objects.filter(
        pk__in=CrmContact.objects.filter(contract=connected, member__isnull=False).values(
            "member_id"
        )
    )[:5]
    for member in members:
        message_send(seat=rep, member=member, body="Hello from the portal", copy_to_crm=True)
    crm.expire_tokens()
    assert drain_outbox(connected.pk) == len(members)
    assert OutboxEntry.objects.filter(state=OutboxState.SENT).count() == len(members)

    connection.refresh_from_db()
    issued |= _token_secrets(connection)
    secrets = {
        *issued,
        crm.client_secret,
        settings.DYNAMICS_CLIENT_SECRET,
        settings.SECRET_KEY,
        connection.token_cache_encrypted,
        *(key.decode() for key in settings.PORTAL_ENCRYPTION_KEYS),
    }
    assert len(issued) >= 4  # tokens from connecting and from the refresh
    lines = portal_logs.lines
    # Captured from the start: the sign-in's token request, and the refresh's.
    assert sum("/oauth2/v2.0/token" in line["message"] for line in lines) >= 2
    leaked = [secret[:6] for secret in secrets if secret in portal_logs.text]
    assert leaked == []
    # msal logs the code exchange (the code and its PKCE verifier): both are redacted.
    assert "code_verifier" in portal_logs.text
    assert not re.search(r"code(_verifier)?\W+[A-Za-z0-9._~-]{20,}", portal_logs.text)
    assert any(line.get("run_id") == run.pk for line in lines)
    assert any(line.get("contract_id") == connected.pk and "run_id" not in line for line in lines)
