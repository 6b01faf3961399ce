"""Admin API tokens: create, list, set scopes, look up by keyed hash (cached in-process), revoke."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.admin.models import AdminToken
from portal_api.admin.scopes import GATEWAY_SCOPES, Scope, parse_scopes, render_scopes
from portal_api.config import Settings
from portal_api.core.changes import announce
from portal_api.db import Database, utcnow
from portal_api.errors import NotFound
from portal_api.security import ADMIN_TOKEN_PREFIX, keyed_hash, new_secret

DISPLAY_PREFIX_LENGTH = 16
ADMIN_TOKEN_CACHE_SIZE = 1024

__all__ = ["ADMIN_TOKEN_PREFIX", "AdminTokenCache", "AdminTokenRef"]


@dataclass(frozen=True, slots=True)
class AdminTokenRef:
    """A valid admin token as the routes need it: who (id, name) and what it may do (scopes)."""

    id: str
    name: str
    scopes: frozenset[Scope]


class AdminTokenCache:
    """Valid admin tokens by keyed hash for `ttl_seconds`, so a gateway's verify call needs no token query.

    Cleared on the change feed's `admin_tokens` topic (a revocation or a scope change in this process, at
    once and again after the commit); another process sees one within `ttl_seconds`. Unknown or revoked
    tokens are never cached.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_size: int = ADMIN_TOKEN_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, AdminTokenRef]] = OrderedDict()
        self._lock = threading.Lock()
        self._epoch = 0

    @property
    def epoch(self) -> int:
        return self._epoch

    def get(self, token_hash: str) -> AdminTokenRef | None:
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None:
                return None
            if self._clock() - entry[0] >= self.ttl_seconds:
                del self._entries[token_hash]
                return None
            self._entries.move_to_end(token_hash)
            return entry[1]

    def put(self, token_hash: str, ref: AdminTokenRef, *, epoch: int) -> None:
        with self._lock:
            if epoch != self._epoch or self.ttl_seconds <= 0:
                return
            self._entries[token_hash] = (self._clock(), ref)
            self._entries.move_to_end(token_hash)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def clear(self, _: str = "") -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()


def token_hash(settings: Settings, secret: str) -> str:
    return keyed_hash(settings.secret_key.get_secret_value(), secret)


def ref_of(token: AdminToken) -> AdminTokenRef:
    return AdminTokenRef(id=token.id, name=token.name, scopes=parse_scopes(token.scopes))


async def create_admin_token(
    session: AsyncSession,
    settings: Settings,
    *,
    name: str,
    created_by_user_id: str | None,
    scopes: Iterable[str] = GATEWAY_SCOPES,
    secret: str | None = None,
) -> tuple[AdminToken, str]:
    """A new token (the secret is returned once). With `secret` given (bootstrap tokens) an existing token
    of that secret is reused and given `scopes`."""
    secret = secret or new_secret(ADMIN_TOKEN_PREFIX)
    stored_scopes = render_scopes(scopes)
    hashed = token_hash(settings, secret)
    existing = await session.scalar(select(AdminToken).where(AdminToken.token_hash == hashed))
    if existing is not None:
        if existing.scopes != stored_scopes:
            existing.scopes = stored_scopes
            announce(session, "admin_tokens")
        return existing, secret
    token = AdminToken(
        name=name,
        prefix=secret[:DISPLAY_PREFIX_LENGTH],
        token_hash=hashed,
        created_by_user_id=created_by_user_id,
        scopes=stored_scopes,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def check_admin_token(
    database: Database, settings: Settings, cache: AdminTokenCache, secret: str
) -> AdminTokenRef | None:
    """The valid token for `secret`, answered from `cache` when it can (no query on the hot path).

    A miss reads on a short session of its own, so no transaction stays open for the rest of the request.
    """
    hashed = token_hash(settings, secret)
    ref = cache.get(hashed)
    if ref is not None:
        return ref
    epoch = cache.epoch
    async with database.read() as session:
        token = await session.scalar(
            select(AdminToken).where(AdminToken.token_hash == hashed, AdminToken.revoked_at.is_(None))
        )
    if token is None:
        return None
    ref = ref_of(token)
    cache.put(hashed, ref, epoch=epoch)
    return ref


async def list_admin_tokens(session: AsyncSession) -> list[AdminToken]:
    rows = await session.scalars(select(AdminToken).order_by(AdminToken.created_at.desc(), AdminToken.id))
    return list(rows)


async def get_admin_token(session: AsyncSession, token_id: str) -> AdminToken:
    token = await session.get(AdminToken, token_id)
    if token is None:
        raise NotFound("No such admin token", code="admin_token_not_found")
    return token


async def set_scopes(session: AsyncSession, token: AdminToken, scopes: Iterable[str]) -> None:
    """Replace the token's scopes; effective at once in this process, within the cache TTL elsewhere."""
    stored = render_scopes(scopes)
    if token.scopes != stored:
        token.scopes = stored
        announce(session, "admin_tokens")


async def revoke_admin_token(
    session: AsyncSession, token: AdminToken, *, now: datetime | None = None
) -> None:
    """Revoke at once; idempotent. The token caches drop it now and again once the revocation is committed."""
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        announce(session, "admin_tokens")
