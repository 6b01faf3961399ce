"""Sign-in dependencies: the optional and the required signed-in user, and the provider admin user.

The user is looked up on a short read session of its own and closed before the handler runs, so signing in
never holds a transaction (on SQLite: a lock) for the rest of the request. Handlers get a detached User;
writes go through ids in their own session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from portal_api.accounts import service
from portal_api.accounts.models import User
from portal_api.config import Settings
from portal_api.core.container import Services
from portal_api.deps import ServicesDep, bearer_token
from portal_api.errors import Forbidden, Unauthorized
from portal_api.security import ADMIN_TOKEN_PREFIX


def session_token(request: Request, settings: Settings) -> str | None:
    """The session token from `Authorization: Bearer` (scripts, the portal's backend) or, only when the
    request has no Authorization header at all, the session cookie (a browser).

    A request that carries an Authorization header is authenticated by it alone: the CSRF check skips
    Bearer requests, so the cookie must never be what authenticates one (`Basic ...` plus a cookie is not
    signed in)."""
    if "authorization" in request.headers:
        token = bearer_token(request)
        return token if token and not token.startswith(ADMIN_TOKEN_PREFIX) else None
    return request.cookies.get(settings.session_cookie_name)


def session_id_of(request: Request, services: Services) -> str | None:
    """The id of the sign-in session the request presents (signature checked), if any."""
    token = session_token(request, services.settings)
    return services.session_tokens.unsign(token) if token else None


async def optional_user(request: Request, services: ServicesDep) -> User | None:
    session_id = session_id_of(request, services)
    if session_id is None:
        return None
    async with services.database.read() as session:
        return await service.user_for_session(session, session_id)


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthorized("Sign in first", code="not_signed_in")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


async def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("This needs a provider admin", code="admin_only")
    return user


AdminUser = Annotated[User, Depends(admin_user)]
