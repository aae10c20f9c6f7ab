"""CRM tokens are stored encrypted and never shown."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection as db
from django.urls import reverse

from crm_settings.crypto import TokenDecryptionError
from crm_settings.models import CrmConnection

pytestmark = pytest.mark.django_db
SECRET = '{"RefreshToken": {"x": {"secret": "refresh-token-value-123"}}}'


@pytest.fixture
def connected(contract):
    connection = CrmConnection(
        contract=contract, environment_url="https://contoso.crm.dynamics.com"
    )
    connection.token_cache = SECRET
    connection.save()
    return connection


def _raw_column(connection):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT token_cache_encrypted FROM crm_settings_crmconnection WHERE id = %s",
            [connection.pk],
        )
        return cursor.fetchone()[0]


def test_the_database_holds_only_ciphertext(connected):
    raw = _raw_column(connected)
    assert "refresh-token-value-123" not in raw
    assert raw != SECRET
    assert CrmConnection.objects.get(pk=connected.pk).token_cache == SECRET


def test_another_key_cannot_read_it(connected, settings):
    settings.PORTAL_ENCRYPTION_KEYS = [Fernet.generate_key()]
    with pytest.raises(TokenDecryptionError, match="cannot be decrypted with any key"):
        _ = CrmConnection.objects.get(pk=connected.pk).token_cache


def test_the_staff_admin_never_shows_it(client, connected):
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(
        reverse("admin:crm_settings_crmconnection_change", args=[connected.pk])
    ).content.decode()
    assert "token_cache" not in page
    assert _raw_column(connected) not in page
