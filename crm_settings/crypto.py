"""Encryption at rest for CRM secrets (the msal token cache).

Fernet (AES-128-CBC + HMAC-SHA256) keyed by ``PORTAL_ENCRYPTION_KEYS``, newest first
(``MultiFernet``): the newest encrypts, any listed key decrypts, and ``reencrypt`` moves a value to
the newest so an old key can be dropped. Without a key that fits, the stored text is unreadable;
``decrypt`` then raises ``TokenDecryptionError`` rather than returning garbage.

``TokenDecryptionError`` is an ``AuthError`` on purpose: every caller already turns a
``DynamicsError`` into the admin's message and next step (pages) or a recorded failure (tasks),
so a key that changed shows up everywhere as "connect to CRM again", never as a crash.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from dynamics import AuthError


class TokenDecryptionError(AuthError):
    """The stored CRM sign-in cannot be decrypted with any configured key."""

    kind = "unreadable"

    def __init__(self):
        super().__init__(
            "The stored CRM sign-in cannot be decrypted with any key in PORTAL_ENCRYPTION_KEY."
        )


def _keys() -> list[Fernet]:
    return [Fernet(key) for key in settings.PORTAL_ENCRYPTION_KEYS]


def encrypt(plaintext: str) -> str:
    return MultiFernet(_keys()).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return MultiFernet(_keys()).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError() from None


def reencrypt(ciphertext: str) -> str | None:
    """``ciphertext`` encrypted with the newest key, or None when it already is."""
    keys = _keys()
    try:
        keys[0].decrypt(ciphertext.encode())
    except InvalidToken:
        pass
    else:
        return None
    try:
        return MultiFernet(keys).rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError() from None
