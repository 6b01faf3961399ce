"""Secrets handling: argon2 password hashing, signed session tokens, keyed hashes of API keys and tokens."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer

from portal_api.config import Settings


def _lower_thread_priority() -> None:
    """Give the calling thread the lowest CPU priority (Linux: a nice value per thread; elsewhere nothing).

    Hashing is CPU work that may wait; the event loop answering key verifications and ingest may not. When the
    CPUs are busy, the scheduler runs the loop first and hashes with what is left."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class Passwords:
    """argon2id hashing. The async methods hash in a pool of PASSWORD_HASH_THREADS worker threads of the
    lowest CPU priority (argon2-cffi releases the GIL), so a burst of logins never blocks the event loop nor
    takes the CPU it needs."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
        )
        self._thread_count = max(1, settings.password_hash_threads)
        self._pool: ThreadPoolExecutor | None = None
        self._dummy: str | None = None

    def _threads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self._thread_count,
                thread_name_prefix="password-hash",
                initializer=_lower_thread_priority,
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

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
        return await asyncio.get_running_loop().run_in_executor(self._threads(), self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads(), self.verify_now, password_hash, password)

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
