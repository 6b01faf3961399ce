"""HTTP routes for sign-up, login, logout and the current user."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from portal_api.accounts import service
from portal_api.accounts.models import AuthSession
from portal_api.accounts.schemas import AuthResponse, LoginRequest, SignupRequest, UserOut
from portal_api.config import Settings
from portal_api.deps import CurrentUser, PasswordsDep, Session, SessionTokensDep, SettingsDep
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
async def signup(
    body: SignupRequest,
    response: Response,
    session: Session,
    settings: SettingsDep,
    passwords: PasswordsDep,
    tokens: SessionTokensDep,
) -> AuthResponse:
    user = await service.signup(
        session, settings, passwords, email=body.email, password=body.password, name=body.name
    )
    auth = await service.start_session(session, settings, user)
    token = _set_session_cookie(response, settings, tokens, auth)
    return AuthResponse(user=UserOut.from_model(user), token=token, expires_at=auth.expires_at)


@router.post("/auth/login")
async def login(
    body: LoginRequest,
    response: Response,
    session: Session,
    settings: SettingsDep,
    passwords: PasswordsDep,
    tokens: SessionTokensDep,
) -> AuthResponse:
    user = await service.authenticate(session, passwords, email=body.email, password=body.password)
    if user.email in settings.admin_emails and not user.is_admin:
        user.is_admin = True
    auth = await service.start_session(session, settings, user)
    token = _set_session_cookie(response, settings, tokens, auth)
    return AuthResponse(user=UserOut.from_model(user), token=token, expires_at=auth.expires_at)


@router.post("/auth/logout", status_code=204)
async def logout(
    request: Request, response: Response, user: CurrentUser, session: Session, settings: SettingsDep
) -> None:
    session_id = getattr(request.state, "session_id", None)
    if session_id:
        await service.end_session(session, session_id)
    response.delete_cookie(settings.session_cookie_name, path="/")


@router.get("/me")
async def me(user: CurrentUser) -> UserOut:
    return UserOut.from_model(user)
