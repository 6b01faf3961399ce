"""Whether Stripe's webhooks arrive: the endpoint URL to configure, the latest delivery, the count today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.webhooks.models import WebhookEvent


def webhook_url(settings: Settings) -> str:
    return f"{settings.api_url.rstrip('/')}/v1/webhooks/stripe"


@dataclass(frozen=True)
class Activity:
    last_received_at: datetime | None
    received_last_24h: int


async def activity(session: AsyncSession) -> Activity:
    since = utcnow() - timedelta(hours=24)
    last = await session.scalar(select(func.max(WebhookEvent.received_at)))
    count = await session.scalar(select(func.count()).where(WebhookEvent.received_at >= since))
    return Activity(last_received_at=last, received_last_24h=int(count or 0))
