"""Request and response bodies of GET/PUT /v1/admin/billing-provider."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BillingProviderUpdate(BaseModel):
    """Fields left out keep their stored value; an empty string (or null) clears it (the environment's
    STRIPE_* value applies again)."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["stripe"] = "stripe"
    secret_key: str | None = Field(default=None, max_length=255, description="sk_live_/sk_test_/rk_... key")
    publishable_key: str | None = Field(default=None, max_length=255, description="pk_live_/pk_test_ key")
    api_version: str | None = Field(default=None, max_length=64, description="YYYY-MM-DD or YYYY-MM-DD.name")
    webhook_secret: str | None = Field(default=None, max_length=255, description="whsec_... signing secret")


class WebhookActivity(BaseModel):
    url: str = Field(description="Paste this into Stripe (Developers -> Webhooks) as the endpoint URL")
    signing_secret_set: bool
    previous_secret_accepted_until: datetime | None = Field(
        default=None,
        description="After a rotation, deliveries signed with the replaced secret are accepted until then",
    )
    last_received_at: datetime | None
    received_last_24h: int
    arriving: bool = Field(description="An event arrived in the last 24 hours")


class BillingProviderOut(BaseModel):
    provider: Literal["stripe"]
    source: Literal["database", "environment"] = Field(
        description="database: saved in the console (wins over STRIPE_*); environment: taken from the "
        "STRIPE_* settings at start-up and not edited here since"
    )
    secret_key_set: bool
    secret_key_last4: str | None
    mode: Literal["live", "test"] | None
    publishable_key: str | None
    api_version: str
    reporting: Literal["usage_records", "billing_meters"] = Field(
        description="usage_records before 2025-03-31.basil, billing_meters from it on"
    )
    webhook: WebhookActivity
    updated_at: datetime | None
    updated_by: str | None
