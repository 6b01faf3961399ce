"""Annotated dependencies shared by routers: Session, SettingsDep, CurrentUser, AdminUser, AdminCaller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts import service as accounts
from portal_api.accounts.models import User
from portal_api.admin.models import AdminToken
from portal_api.admin.tokens import ADMIN_TOKEN_PREFIX, find_admin_token
from portal_api.config import Settings
from portal_api.db import session_scope
from portal_api.errors import Forbidden, Unauthorized
from portal_api.security import Passwords, SessionTokens


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(request.app.state.session_factory):
        yield session


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


def get_session_tokens(request: Request) -> SessionTokens:
    tokens: SessionTokens = request.app.state.session_tokens
    return tokens


# scope="function": the commit happens before the response is sent, so a 2xx always means "stored".
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
SessionTokensDep = Annotated[SessionTokens, Depends(get_session_tokens)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def session_token(request: Request, settings: Settings) -> str | None:
    """The session token from `Authorization: Bearer` (scripts) or the session cookie (browser)."""
    token = bearer_token(request)
    if token and not token.startswith(ADMIN_TOKEN_PREFIX):
        return token
    return request.cookies.get(settings.session_cookie_name)


async def optional_user(
    request: Request, session: Session, settings: SettingsDep, tokens: SessionTokensDep
) -> User | None:
    token = session_token(request, settings)
    if not token:
        return None
    session_id = tokens.unsign(token)
    if session_id is None:
        return None
    request.state.session_id = session_id
    return await accounts.user_for_session(session, session_id)


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthorized("Sign in first", code="not_signed_in")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("This needs a provider admin", code="admin_only")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


async def admin_token(request: Request, session: Session, settings: SettingsDep) -> AdminToken:
    token = bearer_token(request)
    if not token or not token.startswith(ADMIN_TOKEN_PREFIX):
        raise Unauthorized("An admin API token is required (Authorization: Bearer mdp_admin_...)")
    found = await find_admin_token(session, settings, token)
    if found is None:
        raise Unauthorized("Unknown or revoked admin API token", code="invalid_admin_token")
    return found


AdminTokenAuth = Annotated[AdminToken, Depends(admin_token)]


@dataclass(frozen=True)
class AdminCaller:
    """Who is calling an admin route: a signed-in admin user or an admin API token."""

    user: User | None
    token: AdminToken | None


async def admin_caller(
    request: Request,
    session: Session,
    settings: SettingsDep,
    user: Annotated[User | None, Depends(optional_user)],
) -> AdminCaller:
    token = bearer_token(request)
    if token and token.startswith(ADMIN_TOKEN_PREFIX):
        return AdminCaller(user=None, token=await admin_token(request, session, settings))
    if user is None:
        raise Unauthorized("Sign in first", code="not_signed_in")
    if not user.is_admin:
        raise Forbidden("This needs a provider admin", code="admin_only")
    return AdminCaller(user=user, token=None)


AdminCallerDep = Annotated[AdminCaller, Depends(admin_caller)]
