"""Moesif-compatible collector routes, mounted at /collector (set a Moesif middleware's base URI to it).

Answers like Moesif's collector: 201 with an empty body for events, users and companies, 200 JSON for
config and rules, and an `X-Moesif-Config-ETag` header the SDKs use to notice config changes. Events that
fail validation or fall outside the lateness window are dropped one by one (never the whole batch); the
outcome is in `X-Usage-*` headers and the log, since Moesif clients read no body.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.core.container import Services
from portal_api.deps import ServicesDep, Session, SettingsDep
from portal_api.errors import Unauthorized, Unprocessable
from portal_api.metering.collector import profiles
from portal_api.metering.collector.normalize import normalize_moesif_event
from portal_api.metering.collector.tokens import find_token, note_used
from portal_api.metering.events import NormalizedEvent
from portal_api.metering.ingest import IngestResult, Rejection, ingest
from portal_api.metering.models import CollectorToken
from portal_api.metering.request_body import read_json_body

router = APIRouter(prefix="/collector/v1", tags=["collector"])

APPLICATION_ID_HEADER = "X-Moesif-Application-Id"
# Billing needs every event: no sampling, no governance rules.
COLLECTOR_CONFIG: dict[str, Any] = {
    "sample_rate": 100,
    "user_sample_rate": {},
    "company_sample_rate": {},
    "user_rules": {},
    "company_rules": {},
    "regex_config": [],
    "ip_addresses_blocked_by_name": {},
}
CONFIG_ETAG = hashlib.sha256(json.dumps(COLLECTOR_CONFIG, sort_keys=True).encode()).hexdigest()[:32]


async def collector_token(request: Request, services: ServicesDep) -> CollectorToken:
    """The caller's collector token, looked up on a short read session (closed before the body is read)."""
    secret = request.headers.get(APPLICATION_ID_HEADER, "").strip()
    if not secret:
        raise Unauthorized(
            f"A collector token is required in the {APPLICATION_ID_HEADER} header",
            code="missing_application_id",
        )
    async with services.database.read() as session:
        token = await find_token(session, services.settings, secret)
    if token is None:
        raise Unauthorized("Unknown or revoked collector token", code="invalid_application_id")
    return token


CollectorAuth = Annotated[CollectorToken, Depends(collector_token)]


def _accepted(result: IngestResult) -> Response:
    headers = {
        "X-Moesif-Config-ETag": CONFIG_ETAG,
        "X-Usage-Accepted": str(result.accepted),
        "X-Usage-Duplicates": str(len(result.duplicates)),
        "X-Usage-Unattributed": str(len(result.unattributed)),
        "X-Usage-Rejected": str(len(result.rejected)),
        "X-Usage-Refused-Keys": str(len(result.refused_keys)),
    }
    return Response(status_code=201, headers=headers)


async def _ingest_moesif(
    session: AsyncSession, services: Services, token: CollectorToken, raw_events: list[Any]
) -> IngestResult:
    settings = services.settings
    if len(raw_events) > settings.usage_max_batch_events:
        raise Unprocessable(
            f"A batch holds at most {settings.usage_max_batch_events} events", code="batch_too_large"
        )
    events: list[NormalizedEvent] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(raw_events):
        outcome = normalize_moesif_event(index, raw, settings.usage_key_header)
        (rejected if isinstance(outcome, Rejection) else events).append(outcome)  # type: ignore[arg-type]
    result = await ingest(
        session, settings, services.key_verifier, events, rejected, received=len(raw_events)
    )
    await note_used(session, token)
    return result


# Each route reads the whole body before its first statement on `session`: no transaction is open while a
# slow client trickles the body in.
@router.post("/events", status_code=201)
async def create_event(
    request: Request, token: CollectorAuth, session: Session, services: ServicesDep
) -> Response:
    body = await read_json_body(request, services.settings.usage_max_body_bytes)
    if not isinstance(body, dict):
        raise Unprocessable("POST /v1/events takes one event object", code="invalid_event")
    return _accepted(await _ingest_moesif(session, services, token, [body]))


@router.post("/events/batch", status_code=201)
async def create_events_batch(
    request: Request, token: CollectorAuth, session: Session, services: ServicesDep
) -> Response:
    body = await read_json_body(request, services.settings.usage_max_body_bytes)
    if not isinstance(body, list):
        raise Unprocessable("POST /v1/events/batch takes a JSON array of events", code="invalid_batch")
    return _accepted(await _ingest_moesif(session, services, token, body))


@router.get("/config")
async def get_config(_: CollectorAuth) -> JSONResponse:
    return JSONResponse(COLLECTOR_CONFIG, headers={"X-Moesif-Config-ETag": CONFIG_ETAG})


@router.get("/rules")
async def get_rules(_: CollectorAuth) -> JSONResponse:
    return JSONResponse([])


@router.post("/users", status_code=201)
async def update_user(
    request: Request, _: CollectorAuth, session: Session, settings: SettingsDep
) -> Response:
    body = await read_json_body(request, settings.usage_max_body_bytes)
    await profiles.save_users(session, [body])
    return Response(status_code=201)


@router.post("/users/batch", status_code=201)
async def update_users_batch(
    request: Request, _: CollectorAuth, session: Session, settings: SettingsDep
) -> Response:
    body = await read_json_body(request, settings.usage_max_body_bytes)
    if not isinstance(body, list):
        raise Unprocessable("POST /v1/users/batch takes a JSON array of users", code="invalid_batch")
    await profiles.save_users(session, body)
    return Response(status_code=201)


@router.post("/companies", status_code=201)
async def update_company(
    request: Request, _: CollectorAuth, session: Session, settings: SettingsDep
) -> Response:
    body = await read_json_body(request, settings.usage_max_body_bytes)
    await profiles.save_companies(session, [body])
    return Response(status_code=201)


@router.post("/companies/batch", status_code=201)
async def update_companies_batch(
    request: Request, _: CollectorAuth, session: Session, settings: SettingsDep
) -> Response:
    body = await read_json_body(request, settings.usage_max_body_bytes)
    if not isinstance(body, list):
        raise Unprocessable("POST /v1/companies/batch takes a JSON array of companies", code="invalid_batch")
    await profiles.save_companies(session, body)
    return Response(status_code=201)
