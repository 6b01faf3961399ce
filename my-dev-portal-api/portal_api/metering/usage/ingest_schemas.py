"""The event model of POST /v1/usage/events and its normalization."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from portal_api.metering.events import NormalizedEvent, digest, route_of
from portal_api.metering.ingest import Rejection, reject_unusable


class UsageEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200, description="Unique per event; a resent id is counted once")
    key: str | None = Field(default=None, max_length=512, description="The customer's API key as sent")
    customer: str | None = Field(default=None, max_length=255, description="A Stripe customer id")
    user_id: str | None = Field(
        default=None, max_length=255, description="Portal user id, email or mapped id"
    )
    route: str = Field(min_length=1, max_length=2048)
    method: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z]+$", description="An HTTP method")
    status: int | None = Field(default=None, ge=100, le=599)
    timestamp: AwareDatetime
    session: str | None = Field(
        default=None, max_length=1024, description="Session token, for unique_sessions"
    )
    weight: int = Field(default=1, ge=0, le=1_000_000)
    properties: dict[str, Any] = Field(default_factory=dict)


class UsageEventBatch(BaseModel):
    events: list[Any] = Field(description="Up to USAGE_MAX_BATCH_EVENTS events, each validated on its own")


class RejectedEvent(BaseModel):
    index: int
    code: str
    message: str


class RefusedKey(BaseModel):
    index: int
    reason: str = Field(description="The verify reason: revoked, expired, no_subscription, ...")


class UsageBatchResult(BaseModel):
    received: int
    accepted: int = Field(description="Newly stored events (including unattributed ones)")
    duplicates: list[int] = Field(description="Indexes of events already stored (or repeated in the batch)")
    unattributed: list[int] = Field(
        description="Indexes of stored events that match no customer; they count nowhere"
    )
    rejected: list[RejectedEvent]
    refused_keys: list[RefusedKey] = Field(
        default_factory=list,
        description="Stored events (also in `unattributed`) whose API key was refused at the time of the "
        "call (revoked, expired, subscription inactive, past_due beyond its grace): never billed",
    )


def normalize_usage_event(index: int, raw: Any) -> NormalizedEvent | Rejection:
    if (unusable := reject_unusable(index, raw)) is not None:
        return unusable
    try:
        event = UsageEventIn.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        if any(e.get("type") == "timezone_aware" for e in errors):
            return Rejection(
                index, "naive_timestamp", "timestamp needs a timezone, like 2025-01-31T23:59:59Z"
            )
        first = errors[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return Rejection(
            index, "invalid_event", f"{loc}: {first.get('msg')}" if loc else str(first.get("msg"))
        )
    return NormalizedEvent(
        index=index,
        dedupe_key=f"api:{event.id}",
        source="api",
        occurred_at=event.timestamp.astimezone(UTC),
        method=event.method.upper(),
        route=route_of(event.route),
        status=event.status,
        weight=event.weight,
        external_user_id=event.user_id,
        company_id=event.customer,
        session_key=digest(event.session) if event.session else None,
        api_key_secret=event.key,
        request_headers={},
        response_headers={},
        metadata=event.properties,
    )
