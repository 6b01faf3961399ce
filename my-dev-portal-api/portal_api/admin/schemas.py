"""Request and response bodies for admin API tokens (the token itself only in the create response)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from portal_api.admin.models import AdminToken
from portal_api.admin.scopes import GATEWAY_SCOPES, SCOPE_DESCRIPTIONS, SCOPES, Scope, parse_scopes

SCOPES_HELP = "; ".join(f"{scope}: {SCOPE_DESCRIPTIONS[scope]}" for scope in SCOPES)


class AdminTokenCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(
        default_factory=lambda: list(GATEWAY_SCOPES),
        min_length=1,
        description=f"What the token may call (default: verify + ingest, all a gateway needs). {SCOPES_HELP}",
    )


class AdminTokenScopesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[Scope] = Field(min_length=1, description=SCOPES_HELP)


class AdminTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by_user_id: str | None
    scopes: list[Scope]

    @classmethod
    def from_model(cls, token: AdminToken) -> AdminTokenOut:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
            created_by_user_id=token.created_by_user_id,
            scopes=ordered(parse_scopes(token.scopes)),
        )


def ordered(scopes: frozenset[Scope]) -> list[Scope]:
    return [scope for scope in SCOPES if scope in scopes]


class AdminTokenCreated(BaseModel):
    id: str
    name: str
    prefix: str
    token: str = Field(description="The full admin token. Shown in this response only; store it now.")
    created_at: datetime
    scopes: list[Scope]


class AdminTokenList(BaseModel):
    data: list[AdminTokenOut]
