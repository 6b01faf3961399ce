"""API key rules: issue (secret shown once), list, rotate with a grace period, revoke; hashing and status."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.core.changes import announce
from portal_api.db import utcnow
from portal_api.errors import Conflict, NotFound, Unprocessable
from portal_api.keys.models import ApiKey
from portal_api.security import keyed_hash, new_secret

KeyStatus = Literal["active", "expiring", "revoked", "expired"]

DISPLAY_PREFIX_LENGTH = 16
# Keys that can still become valid (not revoked, not expired, not rotated away) per user.
MAX_ACTIVE_KEYS_PER_USER = 50
# A live key that will expire within this window is listed as "expiring" (a rotated key always is).
EXPIRING_WITHIN = timedelta(days=7)


def key_prefix(settings: Settings) -> str:
    return f"mdp_{settings.key_mode}_"


def hash_key(settings: Settings, secret: str) -> str:
    return keyed_hash(settings.secret_key.get_secret_value(), secret)


def key_status(key: ApiKey, now: datetime) -> KeyStatus:
    """active | expiring | revoked | expired, as shown to the key's owner."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None:
        if key.expires_at <= now:
            return "expired"
        if key.replaced_by_id is not None or key.expires_at - now <= EXPIRING_WITHIN:
            return "expiring"
    return "active"


async def create_key(
    session: AsyncSession, settings: Settings, *, user_id: str, name: str, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Store a new key for `user_id`; returns the row and the secret, which is never stored or shown again.

    No limit or expiry checks here (provisioning after checkout uses it directly); `issue_key` adds them.
    """
    secret = new_secret(key_prefix(settings))
    key = ApiKey(
        user_id=user_id,
        name=name,
        prefix=secret[:DISPLAY_PREFIX_LENGTH],
        key_hash=hash_key(settings, secret),
        mode=settings.key_mode,
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def count_active_keys(session: AsyncSession, *, user_id: str, now: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(
            ApiKey.user_id == user_id,
            ApiKey.revoked_at.is_(None),
            ApiKey.replaced_by_id.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
    )
    return int(count or 0)


async def issue_key(
    session: AsyncSession,
    settings: Settings,
    *,
    user_id: str,
    name: str,
    expires_at: datetime | None,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A key asked for by its owner: the expiry must lie ahead and the per-user limit must allow one more."""
    now = now or utcnow()
    if expires_at is not None and expires_at <= now:
        raise Unprocessable("expires_at must be in the future", code="invalid_expiry")
    if await count_active_keys(session, user_id=user_id, now=now) >= MAX_ACTIVE_KEYS_PER_USER:
        raise Conflict(
            f"You already have {MAX_ACTIVE_KEYS_PER_USER} active keys; revoke one first",
            code="key_limit_reached",
            limit=MAX_ACTIVE_KEYS_PER_USER,
        )
    return await create_key(session, settings, user_id=user_id, name=name, expires_at=expires_at)


async def list_keys(session: AsyncSession, *, user_id: str) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc(), ApiKey.id)
    )
    return list(rows)


async def own_key(session: AsyncSession, *, user_id: str, key_id: str, lock: bool = False) -> ApiKey:
    """The key `key_id` if it belongs to `user_id`; NotFound otherwise (another user's key looks unknown)."""
    query = select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
    key = await session.scalar(query.with_for_update() if lock else query)
    if key is None:
        raise NotFound("No such API key", code="key_not_found")
    return key


async def rotate_key(
    session: AsyncSession, settings: Settings, *, user_id: str, key_id: str, now: datetime | None = None
) -> tuple[ApiKey, str]:
    """Issue a replacement (same name, same final expiry) and let the old key live out the grace period."""
    now = now or utcnow()
    old = await own_key(session, user_id=user_id, key_id=key_id, lock=True)
    if old.revoked_at is not None:
        raise Conflict("This key is revoked and cannot be rotated", code="key_revoked")
    if old.expires_at is not None and old.expires_at <= now:
        raise Conflict("This key has expired and cannot be rotated; create a new one", code="key_expired")
    if old.replaced_by_id is not None:
        raise Conflict(
            "This key was already rotated; rotate its replacement instead",
            code="key_already_rotated",
            replaced_by_id=old.replaced_by_id,
        )
    new, secret = await create_key(
        session, settings, user_id=user_id, name=old.name, expires_at=old.expires_at
    )
    grace_end = now + timedelta(hours=settings.key_rotation_grace_hours)
    old.expires_at = grace_end if old.expires_at is None else min(old.expires_at, grace_end)
    old.replaced_by_id = new.id
    announce(session, "key", old.key_hash)
    return new, secret


async def revoke_key(
    session: AsyncSession, *, user_id: str, key_id: str, now: datetime | None = None
) -> ApiKey:
    """Revoke at once; revoking twice returns the key unchanged."""
    key = await own_key(session, user_id=user_id, key_id=key_id, lock=True)
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
        announce(session, "key", key.key_hash)
    return key
