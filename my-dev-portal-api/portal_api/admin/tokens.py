"""Admin API tokens: create, look up by keyed hash, revoke."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.admin.models import AdminToken
from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.security import keyed_hash, new_secret

ADMIN_TOKEN_PREFIX = "mdp_admin_"


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
        name=name, prefix=secret[:16], token_hash=token_hash, created_by_user_id=created_by_user_id
    )
    session.add(token)
    await session.flush()
    return token, secret


async def find_admin_token(session: AsyncSession, settings: Settings, secret: str) -> AdminToken | None:
    token_hash = keyed_hash(settings.secret_key.get_secret_value(), secret)
    return await session.scalar(
        select(AdminToken).where(AdminToken.token_hash == token_hash, AdminToken.revoked_at.is_(None))
    )


async def revoke_admin_token(session: AsyncSession, token: AdminToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
