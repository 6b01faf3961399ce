"""Response body of GET /v1/admin/health: one section per dependency the portal needs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class DatabaseHealth(BaseModel):
    status: Literal["ok", "error"]
    latency_ms: float | None = Field(description="Round trip of SELECT 1")
    error: str | None = None


class StripeHealth(BaseModel):
    status: Literal["ok", "error"]
    reachable: bool = Field(description="Stripe answered (an authentication error is an answer too)")
    latency_ms: float | None
    checked_at: datetime
    cached: bool = Field(description="True when this answer is reused (see HEALTH_STRIPE_CACHE_SECONDS)")
    error: str | None = None


class WebhookInboxHealth(BaseModel):
    pending: int = Field(description="Received events not applied yet that will be (re)tried")
    failed: int = Field(description="Events not applied whose attempts are used up")
    last_received_at: datetime | None


class ReportingHealth(BaseModel):
    available: bool = Field(description="False when usage reporting is not installed in this database")
    last_run_at: datetime | None
    last_run_status: str | None
    lag_seconds: int | None = Field(description="Age of the oldest closed hour not confirmed in Stripe")


class IngestHealth(BaseModel):
    events_last_hour: int = Field(description="Usage events that occurred in the last hour")


class AdminHealth(BaseModel):
    status: Literal["ok", "degraded"]
    checked_at: datetime
    database: DatabaseHealth
    stripe: StripeHealth
    webhook_inbox: WebhookInboxHealth
    reporting: ReportingHealth
    ingest: IngestHealth
