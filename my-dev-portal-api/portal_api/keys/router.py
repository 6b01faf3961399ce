"""HTTP routes for a user's API keys and for gateways verifying a key (with an admin API token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from portal_api.admin.tokens import ADMIN_TOKEN_PREFIX, AdminTokenCache, AdminTokenRef, check_admin_token
from portal_api.config import Settings
from portal_api.deps import CurrentUser, Session, SettingsDep, bearer_token
from portal_api.errors import Unauthorized
from portal_api.keys import service
from portal_api.keys.schemas import KeyCreate, KeyCreated, KeyList, KeyOut, VerifyRequest, VerifyResponse
from portal_api.keys.verify import KeyVerifier

router = APIRouter(tags=["keys"])


# Dependencies here are `async def` on purpose: FastAPI runs plain `def` ones in a thread pool, which costs
# more than the whole cached verification.
async def get_key_verifier(request: Request) -> KeyVerifier:
    verifier: KeyVerifier = request.app.state.key_verifier
    return verifier


KeyVerifierDep = Annotated[KeyVerifier, Depends(get_key_verifier)]


async def gateway_token(request: Request) -> AdminTokenRef:
    """deps.AdminTokenAuth with the same answers, but checked against app.state.admin_token_cache first."""
    token = bearer_token(request)
    if not token or not token.startswith(ADMIN_TOKEN_PREFIX):
        raise Unauthorized("An admin API token is required (Authorization: Bearer mdp_admin_...)")
    settings: Settings = request.app.state.settings
    cache: AdminTokenCache = request.app.state.admin_token_cache
    found = await check_admin_token(request.app.state.session_factory, settings, cache, token)
    if found is None:
        raise Unauthorized("Unknown or revoked admin API token", code="invalid_admin_token")
    return found


GatewayAuth = Annotated[AdminTokenRef, Depends(gateway_token)]


@router.get("/keys")
async def list_keys(user: CurrentUser, session: Session, verifier: KeyVerifierDep) -> KeyList:
    keys = await service.list_keys(session, user_id=user.id)
    now = verifier.clock()
    return KeyList(data=[KeyOut.from_model(key, now=now) for key in keys])


@router.post("/keys", status_code=201)
async def create_key(
    body: KeyCreate, user: CurrentUser, session: Session, settings: SettingsDep, verifier: KeyVerifierDep
) -> KeyCreated:
    now = verifier.clock()
    key, secret = await service.issue_key(
        session, settings, user_id=user.id, name=body.name, expires_at=body.expires_at, now=now
    )
    return KeyCreated.with_secret(key, secret, now=now)  # the secret appears in this one response only


@router.post("/keys/verify")
async def verify_key(body: VerifyRequest, _: GatewayAuth, verifier: KeyVerifierDep) -> VerifyResponse:
    return VerifyResponse.from_result(await verifier.verify(body.key))


@router.post("/keys/{key_id}/rotate", status_code=201)
async def rotate_key(
    key_id: str, user: CurrentUser, session: Session, settings: SettingsDep, verifier: KeyVerifierDep
) -> KeyCreated:
    now = verifier.clock()
    key, secret = await service.rotate_key(session, settings, user_id=user.id, key_id=key_id, now=now)
    return KeyCreated.with_secret(key, secret, now=now)


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, user: CurrentUser, session: Session, verifier: KeyVerifierDep) -> KeyOut:
    now = verifier.clock()
    key = await service.revoke_key(session, user_id=user.id, key_id=key_id, now=now)
    return KeyOut.from_model(key, now=now)
