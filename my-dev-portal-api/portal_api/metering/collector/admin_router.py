"""HTTP routes for collector tokens: /v1/admin/collector-tokens (admin user)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from portal_api.accounts.deps import AdminUser
from portal_api.deps import ReadSession, Session, SettingsDep
from portal_api.metering.collector import tokens as service
from portal_api.metering.models import CollectorToken

router = APIRouter(prefix="/admin/collector-tokens", tags=["metering"])


class CollectorTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class CollectorTokenOut(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_model(cls, token: CollectorToken) -> CollectorTokenOut:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
        )


class CollectorTokenCreated(CollectorTokenOut):
    token: str = Field(description="Use as the Moesif Application Id; shown only in this response")


class CollectorTokenList(BaseModel):
    data: list[CollectorTokenOut]


@router.post("", status_code=201)
async def create_collector_token(
    body: CollectorTokenCreate, admin: AdminUser, session: Session, settings: SettingsDep
) -> CollectorTokenCreated:
    token, secret = await service.create_token(
        session, settings, name=body.name.strip(), created_by_user_id=admin.id
    )
    return CollectorTokenCreated(**CollectorTokenOut.from_model(token).model_dump(), token=secret)


@router.get("")
async def list_collector_tokens(_: AdminUser, session: ReadSession) -> CollectorTokenList:
    return CollectorTokenList(
        data=[CollectorTokenOut.from_model(t) for t in await service.list_tokens(session)]
    )


@router.delete("/{token_id}", status_code=204)
async def revoke_collector_token(token_id: str, _: AdminUser, session: Session) -> Response:
    await service.revoke_token(session, token_id)
    return Response(status_code=204)
