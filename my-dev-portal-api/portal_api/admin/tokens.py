"""Admin API tokens: create, list, look up by keyed hash, revoke."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.admin.models import AdminToken
from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.errors import NotFound
from portal_api.security import keyed_hash, new_secret

ADMIN_TOKEN_PREFIX = "mdp_admin_"
DISPLAY_PREFIX_LENGTH = 16


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
    """Revoke at once (tokens are not cached, so the next request with it is refused); idempotent."""
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
