"""Admin API token dependencies: a token with a given scope (gateways), and AdminCaller (console routes).

Tokens are checked against the in-process AdminTokenCache first; a miss reads on a short session of its own.
A token without the scope a route needs gets 403 `insufficient_scope` naming the scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from portal_api.accounts.deps import OptionalUser
from portal_api.accounts.models import User
from portal_api.admin.scopes import Scope
from portal_api.admin.tokens import AdminTokenRef, check_admin_token
from portal_api.deps import ServicesDep, bearer_token
from portal_api.errors import Forbidden, Unauthorized
from portal_api.security import ADMIN_TOKEN_PREFIX


class InsufficientScope(Forbidden):
    code = "insufficient_scope"

    def __init__(self, scope: Scope) -> None:
        super().__init__(f"This admin API token lacks the {scope!r} scope this route needs", scope=scope)


def admin_token_secret(request: Request) -> str | None:
    token = bearer_token(request)
    return token if token and token.startswith(ADMIN_TOKEN_PREFIX) else None


async def valid_admin_token(request: Request, services: ServicesDep) -> AdminTokenRef:
    secret = admin_token_secret(request)
    if secret is None:
        raise Unauthorized("An admin API token is required (Authorization: Bearer mdp_admin_...)")
    found = await check_admin_token(services.database, services.settings, services.admin_tokens, secret)
    if found is None:
        raise Unauthorized("Unknown or revoked admin API token", code="invalid_admin_token")
    return found


def token_with_scope(scope: Scope) -> Callable[..., Awaitable[AdminTokenRef]]:
    async def dependency(token: Annotated[AdminTokenRef, Depends(valid_admin_token)]) -> AdminTokenRef:
        if scope not in token.scopes:
            raise InsufficientScope(scope)
        return token

    dependency.__name__ = f"admin_token_with_{scope}_scope"
    return dependency


# Dependencies are `async def` on purpose: FastAPI runs plain `def` ones in a thread pool, which costs more
# than the whole cached key verification.
VerifyToken = Annotated[AdminTokenRef, Depends(token_with_scope("verify"))]
IngestToken = Annotated[AdminTokenRef, Depends(token_with_scope("ingest"))]


@dataclass(frozen=True)
class AdminCaller:
    """Who is calling an admin route: a signed-in admin user or an admin API token with the admin scope."""

    user: User | None
    token: AdminTokenRef | None

    @property
    def label(self) -> str:
        """For `updated_by` columns: the admin's email or the token's id."""
        if self.user is not None:
            return self.user.email
        return f"token:{self.token.id}" if self.token is not None else "unknown"


async def admin_caller(request: Request, services: ServicesDep, user: OptionalUser) -> AdminCaller:
    if admin_token_secret(request) is not None:
        token = await valid_admin_token(request, services)
        if "admin" not in token.scopes:
            raise InsufficientScope("admin")
        return AdminCaller(user=None, token=token)
    if user is None:
        raise Unauthorized("Sign in first", code="not_signed_in")
    if not user.is_admin:
        raise Forbidden("This needs a provider admin", code="admin_only")
    return AdminCaller(user=user, token=None)


AdminCallerDep = Annotated[AdminCaller, Depends(admin_caller)]
