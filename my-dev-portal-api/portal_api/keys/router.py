"""HTTP routes for a user's API keys and for gateways verifying a key (admin API token, `verify` scope)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api.accounts.deps import CurrentUser
from portal_api.admin.deps import VerifyToken
from portal_api.deps import ReadSession, ServicesDep, Session
from portal_api.keys import service
from portal_api.keys.schemas import KeyCreate, KeyCreated, KeyList, KeyOut, VerifyRequest, VerifyResponse

router = APIRouter(tags=["keys"])


@router.get("/keys")
async def list_keys(user: CurrentUser, session: ReadSession, services: ServicesDep) -> KeyList:
    keys = await service.list_keys(session, user_id=user.id)
    now = services.key_verifier.clock()
    return KeyList(data=[KeyOut.from_model(key, now=now) for key in keys])


@router.post("/keys", status_code=201)
async def create_key(
    body: KeyCreate, user: CurrentUser, session: Session, services: ServicesDep
) -> KeyCreated:
    now = services.key_verifier.clock()
    key, secret = await service.issue_key(
        session, services.settings, user_id=user.id, name=body.name, expires_at=body.expires_at, now=now
    )
    return KeyCreated.with_secret(key, secret, now=now)  # the secret appears in this one response only


@router.post("/keys/verify")
async def verify_key(body: VerifyRequest, _: VerifyToken, services: ServicesDep) -> VerifyResponse:
    return VerifyResponse.from_result(await services.key_verifier.verify(body.key))


@router.post("/keys/{key_id}/rotate", status_code=201)
async def rotate_key(key_id: str, user: CurrentUser, session: Session, services: ServicesDep) -> KeyCreated:
    now = services.key_verifier.clock()
    key, secret = await service.rotate_key(
        session, services.settings, user_id=user.id, key_id=key_id, now=now
    )
    return KeyCreated.with_secret(key, secret, now=now)


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, user: CurrentUser, session: Session, services: ServicesDep) -> KeyOut:
    now = services.key_verifier.clock()
    key = await service.revoke_key(session, user_id=user.id, key_id=key_id, now=now)
    return KeyOut.from_model(key, now=now)
