"""Webhook inbox rules: store each verified Stripe event once, apply it from a fresh Stripe read, retry.

Applying never trusts the payload beyond the event type and the object id: the object is re-fetched from
Stripe, so late, duplicated or out-of-order deliveries all converge on Stripe's current state. An apply that
fails (Stripe down, a fault) is recorded on the event (attempts, last_error, next_attempt_at with
exponential backoff) and retried by the `webhook_inbox_retry` job until WEBHOOK_MAX_ATTEMPTS.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal_api.billing import service as billing
from portal_api.checkout import service as checkout
from portal_api.config import Settings
from portal_api.db import session_scope, utcnow
from portal_api.errors import NotFound, PortalError
from portal_api.stripe_client import StripeGateway
from portal_api.webhooks.models import WebhookEvent

log = structlog.get_logger(__name__)

unit_of_work = asynccontextmanager(session_scope)

RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
CHECKOUT_COMPLETED_TYPES = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)


class WebhooksNotConfigured(PortalError):
    status, code = 503, "webhooks_not_configured"
    message = "STRIPE_WEBHOOK_SECRET is not set, so Stripe webhooks cannot be verified or accepted"


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h: about a day of retries over the default 12 attempts."""
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


async def record_event(session: AsyncSession, event: dict[str, Any]) -> bool:
    """Store a verified event in the inbox; False if this event id was stored before (a replay)."""
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        raise PortalError("The webhook body is not a Stripe event (no id or type)", code="invalid_payload")
    if await session.get(WebhookEvent, event_id) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(
                WebhookEvent(
                    id=event_id,
                    type=event_type,
                    api_version=event.get("api_version"),
                    payload=json.dumps(event, separators=(",", ":")),
                    attempts=0,
                )
            )
    except IntegrityError:
        return False  # the same delivery raced in twice
    return True


async def apply_event(
    session: AsyncSession, stripe: StripeGateway, settings: Settings, event_type: str, payload: dict[str, Any]
) -> str | None:
    """Bring our rows in line with Stripe for one event; returns a note when the event was ignored."""
    obj = (payload.get("data") or {}).get("object") or {}
    object_id = obj.get("id")
    if not isinstance(object_id, str):
        return "ignored: the event has no object id"
    if event_type in CHECKOUT_COMPLETED_TYPES:
        return await _checkout_completed(session, stripe, settings, object_id)
    if event_type in ("customer.created", "customer.updated", "customer.deleted"):
        try:
            customer = await stripe.retrieve_customer(object_id)
        except NotFound:
            customer = {"id": object_id, "deleted": True}
        if event_type == "customer.deleted" or customer.get("deleted"):
            await billing.detach_customer(session, object_id)
        else:
            await billing.refresh_customer(session, customer)
        return None
    if event_type.startswith("customer.subscription."):
        try:
            subscription = await stripe.retrieve_subscription(object_id)
        except NotFound:
            await billing.mark_subscription_gone(session, object_id)
            return None
        if await billing.sync_subscription(session, subscription) is None:
            return "ignored: the subscription's customer is not linked to a user yet"
        return None
    return f"ignored: {event_type} needs no action"


async def _checkout_completed(
    session: AsyncSession, stripe: StripeGateway, settings: Settings, checkout_session_id: str
) -> str | None:
    try:
        checkout_session = await stripe.retrieve_checkout_session(checkout_session_id)
    except NotFound:
        return "ignored: Stripe does not know this checkout session"
    if checkout_session.get("mode") not in (None, "subscription"):
        return "ignored: not a subscription checkout"
    if (
        checkout_session.get("status") != "complete"
        or checkout_session.get("payment_status") not in checkout.PAID_STATES
    ):
        return "ignored: not paid yet (async_payment_succeeded will follow)"
    user = await checkout.find_checkout_user(session, checkout_session)
    if user is None:
        return "ignored: no user matches this checkout session"
    await checkout.provision(
        session, stripe, settings, checkout_session, user_id=user.id, provisioned_by="webhook"
    )
    return None


class WebhookInbox:
    """Applies stored events: right after receipt (bounded by a timeout) and from the retry job."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], stripe: StripeGateway, settings: Settings
    ) -> None:
        self._factory = session_factory
        self._stripe = stripe
        self._settings = settings

    async def apply(self, event_id: str) -> bool:
        """Apply one stored event unless done already; True once it is processed."""
        async with unit_of_work(self._factory) as session:
            event = await session.scalar(
                select(WebhookEvent)
                .where(WebhookEvent.id == event_id)
                .with_for_update(skip_locked=True)  # another worker has it: leave it to them
                .execution_options(populate_existing=True)
            )
            if event is None:
                return False
            if event.processed_at is not None:
                return True
            event.attempts += 1
            try:
                async with session.begin_nested():
                    note = await apply_event(
                        session, self._stripe, self._settings, event.type, json.loads(event.payload)
                    )
            except Exception as exc:
                event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                event.next_attempt_at = utcnow() + retry_delay(event.attempts)
                log.warning(
                    "webhook_apply_failed",
                    event_id=event.id,
                    type=event.type,
                    attempts=event.attempts,
                    error=str(exc),
                )
                return False
            event.processed_at = utcnow()
            event.last_error = note
            event.next_attempt_at = None
            return True

    async def apply_soon(self, event_id: str) -> None:
        """The inline apply after receipt: bounded, and never raises (the retry job is the safety net)."""
        try:
            async with asyncio.timeout(self._settings.webhook_apply_timeout_seconds):
                await self.apply(event_id)
        except Exception:
            log.exception("webhook_inline_apply_failed", event_id=event_id)

    async def retry_due(self, *, now: datetime | None = None, limit: int = 100) -> int:
        """Apply unprocessed events whose next attempt is due; returns how many got processed."""
        now = now or utcnow()
        async with unit_of_work(self._factory) as session:
            due = list(
                await session.scalars(
                    select(WebhookEvent.id)
                    .where(
                        WebhookEvent.processed_at.is_(None),
                        WebhookEvent.attempts < self._settings.webhook_max_attempts,
                        or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= now),
                    )
                    .order_by(WebhookEvent.received_at)
                    .limit(limit)
                )
            )
        processed = 0
        for event_id in due:
            try:
                processed += await self.apply(event_id)
            except Exception:
                log.exception("webhook_retry_failed", event_id=event_id)
        return processed
