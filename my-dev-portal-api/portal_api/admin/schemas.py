"""Request and response bodies for admin API tokens (the token itself only in the create response)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from portal_api.admin.models import AdminToken


class AdminTokenCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)


class AdminTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by_user_id: str | None

    @classmethod
    def from_model(cls, token: AdminToken) -> AdminTokenOut:
        return cls.model_validate(token)


class AdminTokenCreated(BaseModel):
    id: str
    name: str
    prefix: str
    token: str = Field(description="The full admin token. Shown in this response only; store it now.")
    created_at: datetime


class AdminTokenList(BaseModel):
    data: list[AdminTokenOut]
