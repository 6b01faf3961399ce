"""Billing provider rules: the settings screen, saving keys (encrypted) and API version, webhook health."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing_provider.config import (
    DEFAULT_API_VERSION,
    api_version_problem,
    config_from_row,
    stored_config,
)
from portal_api.billing_provider.crypto import SecretBox
from portal_api.billing_provider.models import SINGLETON_ID, BillingProviderConfig
from portal_api.billing_provider.schemas import BillingProviderOut, BillingProviderUpdate, WebhookActivity
from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.errors import Unprocessable
from portal_api.webhooks.models import WebhookEvent

SECRET_KEY_PATTERN = re.compile(r"^(sk|rk)_(live|test)_[A-Za-z0-9_]{4,}$")
PUBLISHABLE_KEY_PATTERN = re.compile(r"^pk_(live|test)_[A-Za-z0-9_]{4,}$")
WEBHOOK_SECRET_PATTERN = re.compile(r"^whsec_[A-Za-z0-9_+/=]{4,}$")


def webhook_url(settings: Settings) -> str:
    return f"{settings.api_url.rstrip('/')}/v1/webhooks/stripe"


def key_mode(key: str) -> str | None:
    for mode in ("live", "test"):
        if f"_{mode}_" in key[:8]:
            return mode
    return None


async def webhook_activity(
    session: AsyncSession, settings: Settings, signing_secret_set: bool
) -> WebhookActivity:
    since = utcnow() - timedelta(hours=24)
    last = await session.scalar(select(func.max(WebhookEvent.received_at)))
    count = await session.scalar(select(func.count()).where(WebhookEvent.received_at >= since))
    return WebhookActivity(
        url=webhook_url(settings),
        signing_secret_set=signing_secret_set,
        last_received_at=last,
        received_last_24h=int(count or 0),
        arriving=bool(count),
    )


async def describe(session: AsyncSession, settings: Settings) -> BillingProviderOut:
    """The settings screen: what is in force, with secrets reduced to "set" and the last 4 characters."""
    row = await stored_config(session)
    config = config_from_row(row, settings)
    key = config.api_key.get_secret_value()
    return BillingProviderOut(
        provider="stripe",
        source=config.source,
        secret_key_set=bool(key),
        secret_key_last4=key[-4:] if key else None,
        mode=key_mode(key),  # type: ignore[arg-type]
        publishable_key=config.publishable_key,
        api_version=config.api_version,
        reporting="billing_meters" if config.billing_meters else "usage_records",
        webhook=await webhook_activity(
            session, settings, signing_secret_set=bool(config.webhook_secret.get_secret_value())
        ),
        updated_at=row.updated_at if row else None,
        updated_by=row.updated_by if row else None,
    )


def _check(body: BillingProviderUpdate) -> None:
    if body.secret_key and not SECRET_KEY_PATTERN.match(body.secret_key):
        raise Unprocessable(
            "secret_key must be a Stripe secret or restricted key (sk_live_..., sk_test_..., rk_...)",
            code="invalid_secret_key",
        )
    if body.publishable_key and not PUBLISHABLE_KEY_PATTERN.match(body.publishable_key):
        raise Unprocessable(
            "publishable_key must be a Stripe publishable key (pk_live_... or pk_test_...)",
            code="invalid_publishable_key",
        )
    if body.api_version:
        problem = api_version_problem(body.api_version)
        if problem:
            raise Unprocessable(problem, code="invalid_api_version")
    if body.webhook_secret and not WEBHOOK_SECRET_PATTERN.match(body.webhook_secret):
        raise Unprocessable(
            "webhook_secret must be a Stripe signing secret (whsec_...)", code="invalid_webhook_secret"
        )


async def update(
    session: AsyncSession, settings: Settings, body: BillingProviderUpdate, *, updated_by: str
) -> BillingProviderOut:
    _check(body)
    given = body.model_fields_set
    row = await stored_config(session)
    if row is None:
        row = BillingProviderConfig(
            id=SINGLETON_ID, provider="stripe", api_version=settings.stripe_api_version
        )
        session.add(row)
    box = SecretBox(settings.secret_key.get_secret_value())
    if "secret_key" in given:
        row.secret_key_encrypted = box.encrypt(body.secret_key) if body.secret_key else None
        row.secret_key_last4 = body.secret_key[-4:] if body.secret_key else None
    if "publishable_key" in given:
        row.publishable_key = body.publishable_key or None
    if "api_version" in given:
        row.api_version = body.api_version or settings.stripe_api_version or DEFAULT_API_VERSION
    if "webhook_secret" in given:
        row.webhook_secret_encrypted = box.encrypt(body.webhook_secret) if body.webhook_secret else None
    row.provider = body.provider
    row.updated_by = updated_by
    row.updated_at = utcnow()
    config = config_from_row(row, settings)
    secret_mode = key_mode(config.api_key.get_secret_value())
    publishable_mode = key_mode(config.publishable_key or "")
    if secret_mode and publishable_mode and secret_mode != publishable_mode:
        raise Unprocessable(
            f"The secret key is a {secret_mode} key but the publishable key is a {publishable_mode} key; "
            "both must come from the same mode",
            code="key_mode_mismatch",
        )
    await session.flush()
    return await describe(session, settings)
