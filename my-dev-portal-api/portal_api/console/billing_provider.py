"""The billing provider screen: GET/PUT /v1/admin/billing-provider (the Stripe settings, webhook activity)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.admin.deps import AdminCallerDep
from portal_api.billing_provider import service
from portal_api.billing_provider.config import StripeConfig, config_from_row
from portal_api.billing_provider.models import BillingProviderConfig
from portal_api.billing_provider.schemas import BillingProviderOut, BillingProviderUpdate, WebhookActivity
from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.deps import ReadSession, ServicesDep, Session
from portal_api.webhooks.activity import activity, webhook_url

router = APIRouter(prefix="/admin/billing-provider", tags=["billing provider"])


async def describe(
    session: AsyncSession, settings: Settings, row: BillingProviderConfig | None, config: StripeConfig
) -> BillingProviderOut:
    """What is in force, with secrets reduced to "set" and the last 4 characters."""
    key = config.api_key.get_secret_value()
    seen = await activity(session)
    expires = config.previous_webhook_secret_expires_at
    return BillingProviderOut(
        provider="stripe",
        source=config.source,
        secret_key_set=bool(key),
        secret_key_last4=key[-4:] if key else None,
        mode=service.key_mode(key),  # type: ignore[arg-type]
        publishable_key=config.publishable_key,
        api_version=config.api_version,
        reporting="billing_meters" if config.billing_meters else "usage_records",
        webhook=WebhookActivity(
            url=webhook_url(settings),
            signing_secret_set=bool(config.webhook_secret.get_secret_value()),
            previous_secret_accepted_until=expires if expires is not None and expires > utcnow() else None,
            last_received_at=seen.last_received_at,
            received_last_24h=seen.received_last_24h,
            arriving=bool(seen.received_last_24h),
        ),
        updated_at=row.updated_at if row else None,
        updated_by=row.updated_by if row else None,
    )


@router.get("")
async def get_billing_provider(
    _: AdminCallerDep, session: ReadSession, services: ServicesDep
) -> BillingProviderOut:
    row = await service.stored_config(session)
    return await describe(session, services.settings, row, config_from_row(row, services.settings))


@router.put("")
async def put_billing_provider(
    body: BillingProviderUpdate, caller: AdminCallerDep, session: Session, services: ServicesDep
) -> BillingProviderOut:
    row, config = await service.update(session, services.settings, body, updated_by=caller.label)
    return await describe(session, services.settings, row, config)
