"""HTTP routes for the provider admin: admin API tokens (signed-in admin users only)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api.accounts.deps import AdminUser
from portal_api.admin import tokens
from portal_api.admin.schemas import (
    AdminTokenCreate,
    AdminTokenCreated,
    AdminTokenList,
    AdminTokenOut,
    AdminTokenScopesUpdate,
    ordered,
)
from portal_api.admin.scopes import parse_scopes
from portal_api.deps import ReadSession, Session, SettingsDep

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/tokens", status_code=201)
async def create_admin_token(
    body: AdminTokenCreate, admin: AdminUser, session: Session, settings: SettingsDep
) -> AdminTokenCreated:
    token, secret = await tokens.create_admin_token(
        session, settings, name=body.name, created_by_user_id=admin.id, scopes=body.scopes
    )
    return AdminTokenCreated(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        token=secret,
        created_at=token.created_at,
        scopes=ordered(parse_scopes(token.scopes)),
    )


@router.get("/tokens")
async def list_admin_tokens(_: AdminUser, session: ReadSession) -> AdminTokenList:
    return AdminTokenList(data=[AdminTokenOut.from_model(t) for t in await tokens.list_admin_tokens(session)])


@router.patch("/tokens/{token_id}")
async def update_admin_token_scopes(
    token_id: str, body: AdminTokenScopesUpdate, _: AdminUser, session: Session
) -> AdminTokenOut:
    token = await tokens.get_admin_token(session, token_id)
    await tokens.set_scopes(session, token, body.scopes)
    return AdminTokenOut.from_model(token)


@router.delete("/tokens/{token_id}")
async def revoke_admin_token(token_id: str, _: AdminUser, session: Session) -> AdminTokenOut:
    token = await tokens.get_admin_token(session, token_id)
    await tokens.revoke_admin_token(session, token)
    return AdminTokenOut.from_model(token)
