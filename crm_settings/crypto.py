"""Encryption at rest for CRM secrets (the msal token cache).

Fernet (AES-128-CBC + HMAC-SHA256) keyed by ``PORTAL_ENCRYPTION_KEY``. Without the key the stored
text is unreadable; with a wrong key ``decrypt`` raises ``TokenDecryptionError`` rather than
returning garbage, so a rotated key shows up as "reconnect to CRM", not as a crash.
"""

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class TokenDecryptionError(Exception):
    """The stored secret cannot be decrypted with the configured key."""


def _fernet() -> Fernet:
    return Fernet(settings.PORTAL_ENCRYPTION_KEY)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError(
            "The stored CRM tokens cannot be decrypted with PORTAL_ENCRYPTION_KEY. "
            "Disconnect and connect to CRM again."
        ) from None
