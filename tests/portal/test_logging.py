"""Log lines: text or JSON, with the ids of their request, contract, seat, run or item; never a
token or a secret; a 403 or 404 is one warning, without a traceback."""

import json
import logging
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.urls import reverse

from config.logs import (
    REDACTED,
    ContextFilter,
    JsonFormatter,
    RedactFilter,
    TextFormatter,
    log_context,
    redact,
)
from tests.factories import SyncRunFactory
from tests.test_settings_env import ROOT

logger = logging.getLogger("tests.portal.logging")


def _record(message: str, *args, exc_info=None) -> logging.LogRecord:
    record = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, message, args, exc_info)
    ContextFilter().filter(record)
    RedactFilter().filter(record)
    return record


def test_a_json_line_carries_the_ids_of_its_context():
    with log_context(contract_id=3, run_id=12), log_context(item_id=40):
        line = json.loads(JsonFormatter().format(_record("Run %s failed", 12)))
    assert line["message"] == "Run 12 failed"
    assert (line["level"], line["logger"]) == ("WARNING", "tests.portal.logging")
    assert (line["contract_id"], line["run_id"], line["item_id"]) == (3, 12, 40)
    assert "seat_id" not in line and "request_id" not in line


def test_the_context_ends_with_its_block():
    with log_context(contract_id=3):
        pass
    line = json.loads(JsonFormatter().format(_record("after")))
    assert "contract_id" not in line


def test_a_text_line_is_readable_with_its_ids():
    with log_context(contract_id=3, run_id=12):
        text = TextFormatter().format(_record("Sync run %s failed", 12))
    assert text.endswith(" WARNING tests.portal.logging [contract=3 run=12]: Sync run 12 failed")
    assert TextFormatter().format(_record("no ids")).endswith("tests.portal.logging: no ids")


def test_an_unknown_context_field_is_refused():
    with pytest.raises(TypeError, match="tenant"), log_context(tenant=1):
        pass


@pytest.mark.parametrize(
    "leak",
    [
        "Authorization: Bearer emu.Zx8-secret_token",
        '{"access_token": "emu.Zx8-secret_token", "token_type": "Bearer"}',
        "grant_type=refresh_token&refresh_token=emu.Zx8-secret_token&client_id=x",
        "{'client_secret': 'emu.Zx8-secret_token'}",
        '"secret": "emu.Zx8-secret_token"',
        "GET /admin-settings/crm/callback/?code=emu.Zx8-secret_token&state=abc",
        "id_token=eyJhbGciOi.eyJzdWIiOiIx.emu.Zx8-secret_token",
        '"code": "emu.Zx8-secret_token", "code_verifier": "emu.Zx8-secret_token"',
    ],
)
def test_tokens_are_redacted_in_every_spelling(leak):
    assert "emu.Zx8-secret_token" not in redact(leak)
    assert REDACTED in redact(leak)


def test_the_configured_secrets_and_fernet_keys_are_redacted():
    key = Fernet.generate_key().decode()
    token = Fernet(key).encrypt(b"a sign-in").decode()
    text = redact(
        f"secret={settings.DYNAMICS_CLIENT_SECRET} key {key} "
        f"stored {token} django {settings.SECRET_KEY} "
        f"ours {settings.PORTAL_ENCRYPTION_KEYS[0].decode()}"
    )
    for secret in (
        settings.DYNAMICS_CLIENT_SECRET,
        key,
        token,
        settings.SECRET_KEY,
        settings.PORTAL_ENCRYPTION_KEYS[0].decode(),
    ):
        assert secret not in text


def test_ordinary_lines_are_left_alone():
    line = 'Sync run 12 failed: HTTP 403 "code": "0x80040220" password authentication failed'
    assert redact(line) == line


def test_a_traceback_is_redacted_too():
    try:
        raise RuntimeError("refresh failed for refresh_token=emu.Zx8-secret_token")
    except RuntimeError:
        record = _record("refresh failed", exc_info=sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert "RuntimeError" in line["exc_info"]
    assert "emu.Zx8-secret_token" not in json.dumps(line)


def test_the_arguments_of_a_line_are_redacted():
    record = _record("token response %s", {"access_token": "emu.Zx8-secret_token"})
    assert "emu.Zx8-secret_token" not in JsonFormatter().format(record)


@pytest.mark.parametrize(("log_format", "json_lines"), [("json", True), ("text", False)])
def test_portal_log_format_chooses_json_or_text(log_format, json_lines):
    code = (
        "import django, logging; django.setup();"
        "from config.logs import log_context;"
        "ctx = log_context(contract_id=7); ctx.__enter__();"
        "logging.getLogger('portal').warning('hello')"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "PORTAL_LOG_FORMAT": log_format,
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    [last] = result.stderr.strip().splitlines()[-1:]
    if json_lines:
        assert json.loads(last) | {"time": None} == {
            "time": None, "level": "WARNING", "logger": "portal", "message": "hello",
            "contract_id": 7,
        }  # fmt: skip
    else:
        assert last.endswith("WARNING portal [contract=7]: hello")


@pytest.mark.django_db
def test_a_request_logs_its_ids_and_answers_its_request_id(portal_logs, login, admin, outsider):
    foreign = SyncRunFactory(contract=outsider.contract)
    response = login(admin).get(reverse("sync:run", args=[foreign.pk]))
    assert response.status_code == 404
    [line] = [line for line in portal_logs.lines if line["logger"] == "django.request"]
    assert line["request_id"] == response["X-Request-ID"]
    assert (line["contract_id"], line["seat_id"]) == (admin.contract_id, admin.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        # Another contract's object: 404.
        ("admin", "foreign_run", 404),
        # A too-low role: PermissionDenied, which Django logs with its traceback.
        ("seat_holder", "crm_settings:index", 403),
    ],
)
def test_an_expected_4xx_is_one_warning_without_a_traceback(
    request, portal_logs, caplog, login, outsider, who, url, status
):
    if url == "foreign_run":
        url = reverse("sync:run", args=[SyncRunFactory(contract=outsider.contract).pk])
    else:
        url = reverse(url)
    with caplog.at_level(logging.DEBUG):
        response = login(request.getfixturevalue(who)).get(url)
    assert response.status_code == status
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.exc_info) for r in warnings] == [("django.request", None)]
    [line] = [line for line in portal_logs.lines if line["level"] == "WARNING"]
    assert "exc_info" not in line
    assert "Traceback" not in portal_logs.text
