"""HTTP routes: POST /v1/usage/events (admin token) and GET /v1/usage (the signed-in customer's own usage)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from portal_api.db import utcnow
from portal_api.deps import AdminTokenAuth, CurrentUser, Session, SettingsDep
from portal_api.errors import Unprocessable
from portal_api.metering.events import NormalizedEvent
from portal_api.metering.ingest import Rejection, ingest
from portal_api.metering.request_body import read_json_body
from portal_api.metering.settings import metering_settings
from portal_api.metering.usage import service
from portal_api.metering.usage.ingest_schemas import (
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
    request: Request, _: AdminTokenAuth, session: Session, settings: SettingsDep
) -> UsageBatchResult:
    """Store a batch of usage events; bad events are reported by index and never drop the good ones."""
    metering = metering_settings(request.app.state)
    body = await read_json_body(request, metering.usage_max_body_bytes)
    raw_events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(raw_events, list):
        raise Unprocessable('The body must be {"events": [...]}', code="invalid_batch")
    if len(raw_events) > metering.usage_max_batch_events:
        raise Unprocessable(
            f"A batch holds at most {metering.usage_max_batch_events} events", code="batch_too_large"
        )
    events: list[NormalizedEvent] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(raw_events):
        outcome = normalize_usage_event(index, raw)
        if isinstance(outcome, Rejection):
            rejected.append(outcome)
        else:
            events.append(outcome)
    result = await ingest(session, settings, metering, events, rejected, received=len(raw_events))
    return UsageBatchResult(
        received=result.received,
        accepted=result.accepted,
        duplicates=result.duplicates,
        unattributed=result.unattributed,
        rejected=[RejectedEvent(index=r.index, code=r.code, message=r.message) for r in result.rejected],
    )


@router.get("")
async def get_usage(
    request: Request,
    user: CurrentUser,
    session: Session,
    from_: Annotated[datetime | None, Query(alias="from", description="ISO time with offset")] = None,
    to: Annotated[datetime | None, Query(description="ISO time with offset")] = None,
    granularity: Annotated[service.Granularity, Query()] = "hour",
) -> UsageReport:
    """The signed-in customer's usage per active meter; there is no way to ask for someone else's."""
    state = request.app.state
    if not hasattr(state, "usage_prices"):
        state.usage_prices = service.PriceCache()
    return await service.usage_report(
        session,
        metering_settings(state),
        getattr(state, "stripe", None),
        state.usage_prices,
        user_id=user.id,
        start=from_,
        end=to,
        granularity=granularity,
        now=utcnow(),
    )
