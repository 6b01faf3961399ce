"""Admin API tokens: create, list, look up by keyed hash (with a small in-process cache), revoke."""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal_api.admin.models import AdminToken
from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.errors import NotFound
from portal_api.security import keyed_hash, new_secret

ADMIN_TOKEN_PREFIX = "mdp_admin_"
DISPLAY_PREFIX_LENGTH = 16
ADMIN_TOKEN_CACHE_SIZE = 1024

_LIVE_CACHES: weakref.WeakSet[AdminTokenCache] = weakref.WeakSet()


@dataclass(frozen=True, slots=True)
class AdminTokenRef:
    """Who called, for routes that only need to know an admin token was valid (the key verify hot path)."""

    id: str
    name: str


class AdminTokenCache:
    """Valid admin tokens by keyed hash for `ttl_seconds`, so a gateway's verify call needs no token query.

    Revoking in this process clears it at once (and again after the commit); another process sees a
    revocation within `ttl_seconds`. Unknown or revoked tokens are never cached.
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
        _LIVE_CACHES.add(self)

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

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()


def _clear_admin_token_caches() -> None:
    for cache in list(_LIVE_CACHES):
        cache.clear()


async def create_admin_token(
    session: AsyncSession,
    settings: Settings,
    *,
    name: str,
    created_by_user_id: str | None,
    secret: str | None = None,
) -> tuple[AdminToken, str]:
    secret = secret or new_secret(ADMIN_TOKEN_PREFIX)
    token_hash = keyed_hash(settings.secret_key.get_secret_value(), secret)
    existing = await session.scalar(select(AdminToken).where(AdminToken.token_hash == token_hash))
    if existing is not None:
        return existing, secret
    token = AdminToken(
        name=name,
        prefix=secret[:DISPLAY_PREFIX_LENGTH],
        token_hash=token_hash,
        created_by_user_id=created_by_user_id,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def find_admin_token(session: AsyncSession, settings: Settings, secret: str) -> AdminToken | None:
    token_hash = keyed_hash(settings.secret_key.get_secret_value(), secret)
    return await session.scalar(
        select(AdminToken).where(AdminToken.token_hash == token_hash, AdminToken.revoked_at.is_(None))
    )


async def check_admin_token(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings, cache: AdminTokenCache, secret: str
) -> AdminTokenRef | None:
    """Like find_admin_token, but answered from `cache` when it can (no query on the hot path).

    A miss reads on a short session of its own, so no transaction stays open for the rest of the request.
    """
    token_hash = keyed_hash(settings.secret_key.get_secret_value(), secret)
    ref = cache.get(token_hash)
    if ref is not None:
        return ref
    epoch = cache.epoch
    async with session_factory() as session:
        token = await session.scalar(
            select(AdminToken).where(AdminToken.token_hash == token_hash, AdminToken.revoked_at.is_(None))
        )
    if token is None:
        return None
    ref = AdminTokenRef(id=token.id, name=token.name)
    cache.put(token_hash, ref, epoch=epoch)
    return ref


async def list_admin_tokens(session: AsyncSession) -> list[AdminToken]:
    rows = await session.scalars(select(AdminToken).order_by(AdminToken.created_at.desc(), AdminToken.id))
    return list(rows)


async def get_admin_token(session: AsyncSession, token_id: str) -> AdminToken:
    token = await session.get(AdminToken, token_id)
    if token is None:
        raise NotFound("No such admin token", code="admin_token_not_found")
    return token


async def revoke_admin_token(
    session: AsyncSession, token: AdminToken, *, now: datetime | None = None
) -> None:
    """Revoke at once; idempotent. Clears the token caches now and again once the revocation is committed."""
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        _clear_admin_token_caches()
        event.listen(session.sync_session, "after_commit", lambda _s: _clear_admin_token_caches(), once=True)
