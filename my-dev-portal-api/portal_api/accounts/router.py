"""HTTP routes for sign-up, login, logout and the current user."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from portal_api.accounts import service
from portal_api.accounts.deps import CurrentUser, session_id_of
from portal_api.accounts.models import AuthSession
from portal_api.accounts.schemas import AuthResponse, LoginRequest, SignupRequest, UserOut
from portal_api.config import Settings
from portal_api.deps import ServicesDep, Session
from portal_api.security import SessionTokens

router = APIRouter(tags=["accounts"])


def _set_session_cookie(
    response: Response, settings: Settings, tokens: SessionTokens, auth: AuthSession
) -> str:
    token = tokens.sign(auth.id)
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_ttl_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return token


@router.post("/auth/signup", status_code=201)
async def signup(body: SignupRequest, response: Response, services: ServicesDep) -> AuthResponse:
    user, auth = await service.signup(
        services.database,
        services.settings,
        services.passwords,
        email=body.email,
        password=body.password,
        name=body.name,
    )
    token = _set_session_cookie(response, services.settings, services.session_tokens, auth)
    return AuthResponse(user=UserOut.from_model(user), token=token, expires_at=auth.expires_at)


@router.post("/auth/login")
async def login(
    body: LoginRequest, request: Request, response: Response, services: ServicesDep
) -> AuthResponse:
    """Sign in. Repeated failures for an account back off exponentially (429 `login_backoff`): see
    accounts/login_throttle.py."""
    user, auth = await service.login(
        services.database,
        services.settings,
        services.passwords,
        email=body.email,
        password=body.password,
        client_address=services.client_addresses.of(request.scope),
    )
    token = _set_session_cookie(response, services.settings, services.session_tokens, auth)
    return AuthResponse(user=UserOut.from_model(user), token=token, expires_at=auth.expires_at)


@router.post("/auth/logout", status_code=204)
async def logout(
    request: Request, response: Response, _: CurrentUser, session: Session, services: ServicesDep
) -> None:
    session_id = session_id_of(request, services)
    if session_id:
        await service.end_session(session, session_id)
    response.delete_cookie(services.settings.session_cookie_name, path="/")


@router.get("/me")
async def me(user: CurrentUser) -> UserOut:
    return UserOut.from_model(user)
