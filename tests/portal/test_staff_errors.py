"""Errors reach the operator's staff: Django's error mails to ADMINS, and Sentry when SENTRY_DSN
is set, each with the error and its ids, never what people typed or hold."""

import io
import logging
import os
import subprocess
import sys

import pytest
import sentry_sdk
from django.urls import reverse
from sentry_sdk.transport import Transport

from config.errors import sentry_init
from config.wsgi import application
from tests.test_settings_env import ROOT

pytestmark = pytest.mark.django_db

PRIVATE = "a-private-note-nobody-else-may-read"
# A value held in a local variable of the failing code (spelt here, away from that code, so the
# report's lines of source cannot show it).
LOCAL_SECRET = "local-" + "secret-token"


@pytest.fixture
def failing_view(monkeypatch):
    """Saving the auto-pause limit fails unexpectedly, with a secret in a local variable."""

    def fail(*, contract, **kwargs):
        token = LOCAL_SECRET  # noqa: F841  (a local the report must not carry)
        raise RuntimeError(f"Pause settings of contract {contract.pk} could not be saved")

    monkeypatch.setattr("crm_settings.pause_views.pause_settings_update", fail)
    return reverse("crm_settings:save_pause_settings")


def _post(client, admin, url):
    client.force_login(admin.user)
    client.raise_request_exception = False
    client.cookies["crm_private"] = "cookie-secret"
    response = client.post(
        f"{url}?q=query-secret",
        {"pause_after_failures": "3", "note": PRIVATE},
        headers={"authorization": "Bearer header-secret", "x-private": "header-secret"},
    )
    assert response.status_code == 500
    return response


def test_a_failed_request_is_mailed_to_admins_without_form_values_or_cookies(
    client, admin, failing_view, settings, mailoutbox
):
    settings.ADMINS = [("Ops", "ops@example.test")]
    _post(client, admin, failing_view)

    [mail] = mailoutbox
    assert mail.to == ["ops@example.test"]
    assert "Internal Server Error: /admin-settings/crm/auto-pause/" in mail.subject
    assert f"Pause settings of contract {admin.contract_id} could not be saved" in mail.body
    for secret in (PRIVATE, "cookie-secret", client.cookies["sessionid"].value, LOCAL_SECRET):
        assert secret not in mail.body


def test_errors_logged_by_background_work_are_mailed_too(settings, mailoutbox):
    settings.ADMINS = [("Ops", "ops@example.test")]
    logging.getLogger("sync.services").error("Sync run %s failed unexpectedly", 42)
    logging.getLogger("sync.services").warning("Only a warning")
    assert [mail.subject for mail in mailoutbox] == [
        "[Django] ERROR: Sync run 42 failed unexpectedly"
    ]


def test_without_admins_nobody_is_mailed(client, admin, failing_view, mailoutbox):
    _post(client, admin, failing_view)
    assert mailoutbox == []


class _Capture(Transport):
    """Keeps Sentry's envelopes in memory instead of sending them."""

    def __init__(self, options=None):
        super().__init__(options)
        self.events = []

    def capture_envelope(self, envelope):
        self.events += [item.payload.json for item in envelope.items if item.type == "event"]


@pytest.fixture
def sentry_events():
    transport = _Capture()
    sentry_init(dsn="https://key@sentry.example.test/1", environment="test", transport=transport)
    yield transport.events
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: nothing is sent


def test_sentry_gets_the_error_and_its_ids_and_nothing_people_sent(
    client, admin, failing_view, sentry_events
):
    _post(client, admin, failing_view)
    sentry_sdk.flush()

    [event] = [e for e in sentry_events if e.get("exception")]
    [error] = event["exception"]["values"]
    assert error["type"] == "RuntimeError"
    assert error["value"] == f"Pause settings of contract {admin.contract_id} could not be saved"
    assert set(event["request"]) <= {"url", "method"}
    assert all("vars" not in frame for frame in error["stacktrace"]["frames"])
    assert "extra" not in event
    text = repr(event)
    for secret in (
        PRIVATE,
        "cookie-secret",
        "header-secret",
        "query-secret",
        LOCAL_SECRET,
        client.cookies["sessionid"].value,
        admin.user.email,
    ):
        assert secret not in text


def test_through_the_wsgi_server_sentry_keeps_only_where_the_request_went(
    client, admin, monkeypatch, sentry_events
):
    """The server's WSGI handler (what gunicorn runs) is where Sentry reads the URL, headers
    and environment of a request: only the URL and method may stay."""

    def fail(*, contract):
        raise RuntimeError(f"Incidents of contract {contract.pk} could not be read")

    monkeypatch.setattr("alerts.views.incidents_open", fail)
    client.force_login(admin.user)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": reverse("alerts:preferences"),
        "QUERY_STRING": "q=query-secret",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "HTTP_COOKIE": f"sessionid={client.cookies['sessionid'].value}; crm_private=cookie-secret",
        "HTTP_AUTHORIZATION": "Bearer header-secret",
        "HTTP_X_PRIVATE": "header-secret",
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    statuses = []
    b"".join(application(environ, lambda status, headers, *_: statuses.append(status)))
    sentry_sdk.flush()

    assert statuses == ["500 Internal Server Error"]
    [event] = [e for e in sentry_events if e.get("exception")]
    assert event["request"] == {
        "url": "http://testserver/admin-settings/alerts/",
        "method": "GET",
    }
    text = repr(event)
    for secret in ("query-secret", "cookie-secret", "header-secret", "203.0.113.9"):
        assert secret not in text


def test_sentry_starts_when_its_dsn_is_set(tmp_path):
    code = (
        "import config.settings, sentry_sdk;"
        "client = sentry_sdk.get_client();"
        "print(client.is_active(), client.options['send_default_pii'],"
        " client.options['before_send'].__name__, client.options['environment'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))}
    env.update(
        DJANGO_DEBUG="1",
        PORTAL_VAR_DIR=str(tmp_path),
        SENTRY_DSN="https://key@sentry.example.test/1",
        SENTRY_ENVIRONMENT="staging",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "True False sentry_event_scrub staging"
