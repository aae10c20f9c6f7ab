"""``PORTAL_ENCRYPTION_KEY`` is a list of Fernet keys, newest first: the newest encrypts, any
decrypts, ``encryption_keys_rotate`` moves every stored CRM sign-in to the newest, and a sign-in
no key reads is a "connect to CRM again" state that connecting again clears."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.urls import reverse

from config.env import env_fernet_keys
from crm_settings.crypto import TokenDecryptionError, decrypt, encrypt
from crm_settings.models import CrmConnection
from sync.models import SyncRun
from sync.tasks import sync_run
from tests.conftest import INTEGRATION_USER, PORTAL_HOST
from tests.factories import ContractFactory, CrmConnectionFactory

pytestmark = pytest.mark.django_db

UNREADABLE = "The stored CRM sign-in can no longer be read"
SECRET = '{"RefreshToken": {"x": {"secret": "refresh-token-value-123"}}}'


ROOT = Path(__file__).resolve().parents[2]


def _settings_process(code: str = "import config.settings", **env) -> subprocess.CompletedProcess:
    """Run ``code`` against the real settings in a fresh interpreter with exactly ``env`` set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "Q_"))}
    clean.pop("DATABASE_URL", None)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def _rotate(**options) -> str:
    out = io.StringIO()
    call_command("encryption_keys_rotate", stdout=out, **options)
    return out.getvalue()


def _stored(contract) -> str:
    return CrmConnection.objects.get(contract=contract).token_cache_encrypted


def _page_works(client) -> str:
    response = client.get(reverse("crm_settings:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="callout error"' not in page, page
    return page


# --- Reading the list ----------------------------------------------------------------------------


def test_the_list_is_read_newest_first(monkeypatch):
    new, old = Fernet.generate_key(), Fernet.generate_key()
    monkeypatch.setenv("X_KEYS", f" {new.decode()} , {old.decode()} ")
    assert env_fernet_keys("X_KEYS") == [new, old]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short", "X_KEYS must be a Fernet key .* it is not"),
        ("{good},", "item 2 of 2 is not"),
        ("{good},short,{other}", "item 2 of 3 is not"),
        ("{good},{good}", "X_KEYS lists the same key twice"),
    ],
)
def test_a_malformed_list_is_refused_without_showing_the_keys(monkeypatch, value, message):
    good = Fernet.generate_key().decode()
    monkeypatch.setenv("X_KEYS", value.format(good=good, other=Fernet.generate_key().decode()))
    with pytest.raises(ImproperlyConfigured, match=message) as refused:
        env_fernet_keys("X_KEYS")
    assert good not in str(refused.value) and "short" not in str(refused.value)


def test_the_portal_refuses_to_start_with_a_malformed_key_in_the_list():
    good = Fernet.generate_key().decode()
    result = _settings_process(DJANGO_SECRET_KEY="k", PORTAL_ENCRYPTION_KEY=f"{good},not-a-key")
    assert result.returncode != 0
    assert "PORTAL_ENCRYPTION_KEY must be a Fernet key" in result.stderr
    assert "item 2 of 2 is not" in result.stderr
    assert good not in result.stderr


def test_dev_mode_keeps_its_generated_key_in_var(tmp_path):
    code = "import config.settings as s; print(s.PORTAL_ENCRYPTION_KEYS[0].decode())"
    first = _settings_process(code, DJANGO_DEBUG="1", PORTAL_VAR_DIR=str(tmp_path))
    again = _settings_process(code, DJANGO_DEBUG="1", PORTAL_VAR_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    stored = (tmp_path / "dev-encryption-key").read_text().strip()
    assert first.stdout.strip() == again.stdout.strip() == stored
    Fernet(stored)
    assert (tmp_path / "dev-encryption-key").stat().st_mode & 0o777 == 0o600


# --- Encrypting and decrypting -------------------------------------------------------------------


def test_the_newest_key_encrypts_and_every_listed_key_decrypts(settings):
    new, old = Fernet.generate_key(), Fernet.generate_key()
    written_with_old = Fernet(old).encrypt(SECRET.encode()).decode()
    settings.PORTAL_ENCRYPTION_KEYS = [new, old]
    assert decrypt(written_with_old) == SECRET
    assert Fernet(new).decrypt(encrypt(SECRET).encode()).decode() == SECRET
    settings.PORTAL_ENCRYPTION_KEYS = [new]
    with pytest.raises(TokenDecryptionError):
        decrypt(written_with_old)


def test_with_the_old_key_listed_second_everything_keeps_working(crm_contract, client, settings):
    old = settings.PORTAL_ENCRYPTION_KEYS[0]
    settings.PORTAL_ENCRYPTION_KEYS = [Fernet.generate_key(), old]
    _page_works(client)
    refreshed = client.post(reverse("seats:crm_users_refresh"), follow=True)
    assert "users from your CRM." in refreshed.content.decode()
    assert sync_run(crm_contract.pk, SyncRun.Trigger.MANUAL).endswith(SyncRun.State.SUCCEEDED)
    assert CrmConnection.objects.get().status == CrmConnection.Status.CONNECTED


# --- encryption_keys_rotate ----------------------------------------------------------------------


def test_rotating_lets_the_old_key_be_dropped(crm_contract, client, settings):
    old, new = settings.PORTAL_ENCRYPTION_KEYS[0], Fernet.generate_key()
    settings.PORTAL_ENCRYPTION_KEYS = [new, old]
    assert "Re-encrypted 1 CRM sign-in(s) with the newest key; 0 already used it." in _rotate()
    settings.PORTAL_ENCRYPTION_KEYS = [new]
    _page_works(client)
    assert "RefreshToken" in Fernet(new).decrypt(_stored(crm_contract).encode()).decode()


def test_rotating_again_changes_nothing(contract, settings):
    connection = CrmConnectionFactory(contract=contract)
    connection.token_cache = SECRET
    connection.save()
    settings.PORTAL_ENCRYPTION_KEYS = [Fernet.generate_key(), *settings.PORTAL_ENCRYPTION_KEYS]
    _rotate()
    once = _stored(contract)
    assert "Re-encrypted 0 CRM sign-in(s) with the newest key; 1 already used it." in _rotate()
    assert _stored(contract) == once


def test_rotating_reports_the_sign_ins_no_key_reads_and_goes_on(settings):
    old, new = Fernet.generate_key(), Fernet.generate_key()
    settings.PORTAL_ENCRYPTION_KEYS = [old]
    readable = [CrmConnectionFactory(contract=ContractFactory()) for _ in range(3)]
    for connection in readable:
        connection.token_cache = SECRET
        connection.save()
    lost = CrmConnectionFactory(
        contract=ContractFactory(name="Fabrikam Lost"),
        token_cache_encrypted=Fernet(Fernet.generate_key()).encrypt(SECRET.encode()).decode(),
    )
    CrmConnectionFactory(contract=ContractFactory())  # never signed in: nothing stored
    settings.PORTAL_ENCRYPTION_KEYS = [new, old]

    out = _rotate(batch_size=2)

    assert "Re-encrypted 3 CRM sign-in(s) with the newest key; 0 already used it." in out
    assert "1 CRM sign-in(s) cannot be read with any key in PORTAL_ENCRYPTION_KEY" in out
    assert f"contract {lost.contract_id}: Fabrikam Lost" in out
    settings.PORTAL_ENCRYPTION_KEYS = [new]
    for connection in readable:
        assert CrmConnection.objects.get(pk=connection.pk).token_cache == SECRET


@pytest.mark.parametrize(("batch_size", "reads"), [(2, 3), (100, 1)])
def test_rotating_reads_the_connections_in_batches(
    settings, django_assert_num_queries, batch_size, reads
):
    for _ in range(5):
        connection = CrmConnectionFactory(contract=ContractFactory())
        connection.token_cache = SECRET
        connection.save()
    settings.PORTAL_ENCRYPTION_KEYS = [Fernet.generate_key(), *settings.PORTAL_ENCRYPTION_KEYS]
    # One read per batch, one conditional update per sign-in.
    with django_assert_num_queries(reads + 5):
        _rotate(batch_size=batch_size)


def test_a_token_refresh_saved_meanwhile_is_kept(contract, settings, monkeypatch):
    """GIVEN a sign-in under the old key WHEN a token refresh saves a newer cache while the
    command re-encrypts the one it read THEN the refresh's cache stays, and the count says so."""
    connection = CrmConnectionFactory(contract=contract)
    connection.token_cache = SECRET
    connection.save()
    settings.PORTAL_ENCRYPTION_KEYS = [Fernet.generate_key(), *settings.PORTAL_ENCRYPTION_KEYS]
    refreshed = encrypt('{"RefreshToken": {"newer": {}}}')
    from crm_settings import services

    real = services.reencrypt

    def refresh_meanwhile(ciphertext):
        CrmConnection.objects.filter(pk=connection.pk).update(token_cache_encrypted=refreshed)
        return real(ciphertext)

    monkeypatch.setattr(services, "reencrypt", refresh_meanwhile)
    out = _rotate()
    assert "Re-encrypted 0 CRM sign-in(s)" in out
    assert "1 CRM sign-in(s) were saved by a token refresh while this ran" in out
    assert _stored(contract) == refreshed


def test_rotating_refuses_a_batch_size_below_one(db):
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        _rotate(batch_size=0)


# --- Connecting again ----------------------------------------------------------------------------


def test_connecting_again_replaces_a_sign_in_no_key_reads(crm_contract, client, dynamics, settings):
    settings.PORTAL_ENCRYPTION_KEYS = [Fernet.generate_key()]  # the old key was dropped too soon
    connection = CrmConnection.objects.get()
    page = client.get(reverse("crm_settings:index")).content.decode()
    assert UNREADABLE in page
    assert f'name="environment_url" value="{connection.environment_url}"' in page

    started = client.post(
        reverse("crm_settings:connect"),
        {"environment_url": connection.environment_url, "tenant": connection.tenant},
        headers={"host": PORTAL_HOST},
    )
    assert started.status_code == 302
    params = dynamics.sign_in(started.url, INTEGRATION_USER)
    assert client.get(reverse("crm_settings:callback"), params).status_code == 302

    page = _page_works(client)
    assert UNREADABLE not in page
    again = CrmConnection.objects.get()
    assert again.status == CrmConnection.Status.CONNECTED and not again.last_error_kind
    assert "RefreshToken" in again.token_cache
