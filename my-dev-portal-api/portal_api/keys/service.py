"""API key rules: issue (secret shown once), hashing. Rotation, revocation and verification build on these."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.keys.models import ApiKey
from portal_api.security import keyed_hash, new_secret

DISPLAY_PREFIX_LENGTH = 16


def key_prefix(settings: Settings) -> str:
    return f"mdp_{settings.key_mode}_"


def hash_key(settings: Settings, secret: str) -> str:
    return keyed_hash(settings.secret_key.get_secret_value(), secret)


async def create_key(
    session: AsyncSession, settings: Settings, *, user_id: str, name: str, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Store a new key for `user_id`; returns the row and the secret, which is never stored or shown again."""
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
