"""Collector tokens (Moesif Application Ids): create, list, revoke, look up by keyed hash."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.errors import NotFound
from portal_api.metering.models import CollectorToken
from portal_api.security import keyed_hash, new_secret

COLLECTOR_TOKEN_PREFIX = "mdp_col_"
DISPLAY_PREFIX_LENGTH = 16
# last_used_at is a hint for admins; writing it at most once a minute keeps ingest from contending on it.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(settings: Settings, secret: str) -> str:
    return keyed_hash(settings.secret_key.get_secret_value(), secret)


async def create_token(
    session: AsyncSession, settings: Settings, *, name: str, created_by_user_id: str | None
) -> tuple[CollectorToken, str]:
    """Store a new token; returns the row and the secret, which is shown once and never stored."""
    secret = new_secret(COLLECTOR_TOKEN_PREFIX)
    token = CollectorToken(
        name=name,
        prefix=secret[:DISPLAY_PREFIX_LENGTH],
        token_hash=token_hash(settings, secret),
        created_by_user_id=created_by_user_id,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def list_tokens(session: AsyncSession) -> list[CollectorToken]:
    return list(
        (await session.execute(select(CollectorToken).order_by(CollectorToken.created_at.desc()))).scalars()
    )


async def revoke_token(session: AsyncSession, token_id: str) -> None:
    token = await session.get(CollectorToken, token_id)
    if token is None:
        raise NotFound(f"There is no collector token {token_id}", code="collector_token_not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()


async def find_token(session: AsyncSession, settings: Settings, secret: str) -> CollectorToken | None:
    """The live token for `secret` (a read: call with a read session)."""
    return await session.scalar(
        select(CollectorToken).where(
            CollectorToken.token_hash == token_hash(settings, secret), CollectorToken.revoked_at.is_(None)
        )
    )


async def note_used(session: AsyncSession, token: CollectorToken) -> None:
    """Record the token's use in the caller's write, at most once per LAST_USED_RESOLUTION."""
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        await session.execute(
            update(CollectorToken).where(CollectorToken.id == token.id).values(last_used_at=now)
        )
