"""Secrets handling: argon2 password hashing, signed session tokens, keyed hashes of API keys and tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer

from portal_api.config import Settings


class Passwords:
    """argon2id hashing. The async methods hash in worker threads (argon2-cffi releases the GIL), at most
    PASSWORD_HASH_THREADS at once, so a burst of logins never blocks the event loop."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
        )
        self._threads = anyio.CapacityLimiter(max(1, settings.password_hash_threads))
        self._dummy: str | None = None

    @property
    def _dummy_hash(self) -> str:
        """Verified against when the email is unknown, so login takes as long for both cases. Made on first
        use: a CLI command that never checks a password does not pay for a hash."""
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_hex(16))
        return self._dummy

    def hash_now(self, password: str) -> str:
        """Hash on the calling thread (CLI commands, start-up seeding)."""
        return self._hasher.hash(password)

    def verify_now(self, password_hash: str | None, password: str) -> bool:
        try:
            return (
                self._hasher.verify(password_hash or self._dummy_hash, password) and password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._threads)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await anyio.to_thread.run_sync(self.verify_now, password_hash, password, limiter=self._threads)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


class SessionTokens:
    """A session token is the session row's id signed with SECRET_KEY: forgery-proof and revocable."""

    def __init__(self, settings: Settings) -> None:
        self._serializer = URLSafeSerializer(settings.secret_key.get_secret_value(), salt="mdp-session")

    @staticmethod
    def new_session_id() -> str:
        return secrets.token_urlsafe(32)

    def sign(self, session_id: str) -> str:
        return self._serializer.dumps(session_id)

    def unsign(self, token: str) -> str | None:
        try:
            value = self._serializer.loads(token)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None


# Admin API tokens (admin/tokens.py) share the Bearer header with session tokens; the prefix tells them apart.
ADMIN_TOKEN_PREFIX = "mdp_admin_"


def keyed_hash(secret_key: str, value: str) -> str:
    """HMAC-SHA256 of an API key or token: without SECRET_KEY a leaked table is useless."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def new_secret(prefix: str, nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)
