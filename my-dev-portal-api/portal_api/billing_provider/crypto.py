"""Encryption of stored provider secrets: Fernet with a key derived from SECRET_KEY by HKDF-SHA256.

Changing SECRET_KEY makes stored secrets unreadable (they must be entered again); the derived key is
separate from every other use of SECRET_KEY (session signing, key hashing) through its own salt and info.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portal_api.errors import PortalError

HKDF_SALT = b"my-dev-portal/billing-provider"
HKDF_INFO = b"fernet-key/v1"


class StoredSecretUnreadable(PortalError):
    status, code = 409, "billing_secret_unreadable"
    message = (
        "A stored billing provider secret cannot be decrypted with the current SECRET_KEY (was it changed?); "
        "enter the Stripe keys again in the billing provider settings"
    )


def fernet_key(secret_key: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(derived)


class SecretBox:
    """Encrypts and decrypts short secrets (Stripe keys) for storage."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(fernet_key(secret_key))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise StoredSecretUnreadable() from None
