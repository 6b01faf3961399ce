"""HTTP routes: POST /v1/usage/events (admin token, `ingest` scope) and GET /v1/usage (the customer's own)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from portal_api.accounts.deps import CurrentUser
from portal_api.admin.deps import IngestToken
from portal_api.db import utcnow
from portal_api.deps import ServicesDep, Session
from portal_api.errors import Unprocessable
from portal_api.metering.events import NormalizedEvent
from portal_api.metering.ingest import Rejection, ingest
from portal_api.metering.request_body import read_json_body
from portal_api.metering.usage import service
from portal_api.metering.usage.ingest_schemas import (
    RefusedKey,
    RejectedEvent,
    UsageBatchResult,
    UsageEventBatch,
    normalize_usage_event,
)
from portal_api.metering.usage.schemas import UsageReport

router = APIRouter(prefix="/usage", tags=["usage"])


@router.post(
    "/events",
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": UsageEventBatch.model_json_schema()}}}
    },
)
async def ingest_usage_events(
    request: Request, _: IngestToken, session: Session, services: ServicesDep
) -> UsageBatchResult:
    """Store a batch of usage events; bad events are reported by index and never drop the good ones.

    The whole body is read before the first statement on `session`, so no transaction is open while a slow
    client trickles it in."""
    settings = services.settings
    body = await read_json_body(request, settings.usage_max_body_bytes)
    raw_events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(raw_events, list):
        raise Unprocessable('The body must be {"events": [...]}', code="invalid_batch")
    if len(raw_events) > settings.usage_max_batch_events:
        raise Unprocessable(
            f"A batch holds at most {settings.usage_max_batch_events} events", code="batch_too_large"
        )
    events: list[NormalizedEvent] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(raw_events):
        outcome = normalize_usage_event(index, raw)
        if isinstance(outcome, Rejection):
            rejected.append(outcome)
        else:
            events.append(outcome)
    result = await ingest(
        session, settings, services.key_verifier, events, rejected, received=len(raw_events)
    )
    return UsageBatchResult(
        received=result.received,
        accepted=result.accepted,
        duplicates=result.duplicates,
        unattributed=result.unattributed,
        rejected=[RejectedEvent(index=r.index, code=r.code, message=r.message) for r in result.rejected],
        refused_keys=[RefusedKey(index=index, reason=reason) for index, reason in result.refused_keys],
    )


@router.get("")
async def get_usage(
    user: CurrentUser,
    services: ServicesDep,
    from_: Annotated[datetime | None, Query(alias="from", description="ISO time with offset")] = None,
    to: Annotated[datetime | None, Query(description="ISO time with offset")] = None,
    granularity: Annotated[service.Granularity, Query()] = "hour",
) -> UsageReport:
    """The signed-in customer's usage per active meter; there is no way to ask for someone else's."""
    return await service.usage_report(
        services.database,
        services.settings,
        services.stripe,
        services.usage_prices,
        user_id=user.id,
        start=from_,
        end=to,
        granularity=granularity,
        now=utcnow(),
    )
