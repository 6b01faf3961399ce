"""Webhook inbox rules: store each verified Stripe event once, apply it from a fresh Stripe read, retry.

Applying never trusts the payload beyond the event type and the object id: the object is re-fetched from
Stripe, so late, duplicated or out-of-order deliveries all converge on Stripe's current state. An apply that
fails (Stripe down, a fault) is recorded on the event (attempts, last_error, next_attempt_at with
exponential backoff) and retried by the `webhook_inbox_retry` job until WEBHOOK_MAX_ATTEMPTS.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing import service as billing
from portal_api.billing_provider.connection import StripeConnection
from portal_api.checkout import service as checkout
from portal_api.config import Settings
from portal_api.db import Database, utcnow
from portal_api.errors import NotFound, PortalError
from portal_api.stripe_client import StripeGateway
from portal_api.webhooks.models import WebhookEvent

log = structlog.get_logger(__name__)

RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
CHECKOUT_COMPLETED_TYPES = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)


class WebhooksNotConfigured(PortalError):
    status, code = 503, "webhooks_not_configured"
    message = (
        "No webhook signing secret is configured (billing provider settings or STRIPE_WEBHOOK_SECRET), "
        "so Stripe webhooks cannot be verified or accepted"
    )


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


WriteStep = Callable[[AsyncSession], Awaitable[str | None]]


async def fetch_change(
    database: Database, stripe: StripeGateway, settings: Settings, event_type: str, payload: dict[str, Any]
) -> WriteStep | str:
    """Phase one of applying an event, outside any transaction: re-fetch its object from Stripe and return
    the write that brings our rows in line (phase two), or a note saying why nothing is to be done."""
    obj = (payload.get("data") or {}).get("object") or {}
    object_id = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(object_id, str):
        return "ignored: the event has no object id"
    if event_type in CHECKOUT_COMPLETED_TYPES:
        return await _checkout_completed(database, stripe, settings, object_id)
    if event_type in ("customer.created", "customer.updated", "customer.deleted"):
        try:
            customer = await stripe.retrieve_customer(object_id)
        except NotFound:
            customer = {"id": object_id, "deleted": True}
        if event_type == "customer.deleted" or customer.get("deleted"):
            return _detach(object_id)
        return _refresh_customer(customer)
    if event_type.startswith("customer.subscription."):
        try:
            subscription = await stripe.retrieve_subscription(object_id)
        except NotFound:
            return _subscription_gone(object_id)
        return _sync_subscription(subscription, changed_at=change_time(payload, obj, subscription))
    return f"ignored: {event_type} needs no action"


def _item_prices(subscription: dict[str, Any]) -> set[tuple[str, str | None]]:
    items = (subscription.get("items") or {}).get("data") or []
    found = [item for item in items if isinstance(item, dict)]
    return {(str(item.get("id")), billing.stripe_id(item.get("price"))) for item in found}


def change_time(payload: dict[str, Any], obj: dict[str, Any], fresh: dict[str, Any]) -> datetime | None:
    """When the items' prices Stripe has now were set, as far as this event tells: its `created` if its
    object shows the same prices (a price swap made in the billing portal, say), else unknown (a later
    change overtook it; the sync then takes the time it runs)."""
    created = payload.get("created")
    if not isinstance(created, int) or _item_prices(obj) != _item_prices(fresh):
        return None
    return billing.from_timestamp(created)


def _detach(customer_id: str) -> WriteStep:
    async def write(session: AsyncSession) -> str | None:
        await billing.detach_customer(session, customer_id)
        return None

    return write


def _refresh_customer(customer: dict[str, Any]) -> WriteStep:
    async def write(session: AsyncSession) -> str | None:
        await billing.refresh_customer(session, customer)
        return None

    return write


def _subscription_gone(subscription_id: str) -> WriteStep:
    async def write(session: AsyncSession) -> str | None:
        await billing.mark_subscription_gone(session, subscription_id)
        return None

    return write


def _sync_subscription(subscription: dict[str, Any], *, changed_at: datetime | None = None) -> WriteStep:
    async def write(session: AsyncSession) -> str | None:
        if await billing.sync_subscription(session, subscription, changed_at=changed_at) is None:
            return "ignored: the subscription's customer is not linked to a user yet"
        return None

    return write


async def _checkout_completed(
    database: Database, stripe: StripeGateway, settings: Settings, checkout_session_id: str
) -> WriteStep | str:
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
    async with database.read() as session:
        user = await checkout.find_checkout_user(session, checkout_session)
    if user is None:
        return "ignored: no user matches this checkout session"
    facts = await checkout.facts_unless_provisioned(database, stripe, checkout_session)
    user_id = user.id

    async def write(session: AsyncSession) -> str | None:
        try:
            await checkout.provision(
                session, settings, checkout_session, facts, user_id=user_id, provisioned_by="webhook"
            )
        except checkout.FactsNeeded:
            raise RetryLater("the checkout was unprovisioned again; fetch it anew") from None
        return None

    return write


class RetryLater(Exception):
    """The write found the world changed since the fetch; the retry job fetches again."""


class WebhookInbox:
    """Applies stored events: right after receipt (bounded by a timeout) and from the retry job.

    Each apply is: read the event (short read); fetch the object from Stripe (no transaction open); write
    the change and mark the event processed in one short write that re-checks the event is still
    unprocessed. On PostgreSQL the event row is locked for that write (SKIP LOCKED: another worker applying
    the same event wins); two applies racing still converge, since both write Stripe's current state.
    """

    def __init__(self, database: Database, stripe: StripeConnection, settings: Settings) -> None:
        self._database = database
        self._stripe = stripe
        self._settings = settings

    async def apply(self, event_id: str) -> bool:
        """Apply one stored event unless done already; True once it is processed."""
        async with self._database.read() as session:
            event = await session.get(WebhookEvent, event_id)
        if event is None:
            return False
        if event.processed_at is not None:
            return True
        try:
            step = await fetch_change(
                self._database,
                await self._stripe.gateway(),
                self._settings,
                event.type,
                json.loads(event.payload),
            )
        except Exception as exc:
            await self._record_failure(event_id, exc)
            return False
        async with self._database.write() as session:
            row = await _lock_event(session, event_id)
            if row is None:
                return False  # another worker holds it (PostgreSQL) and will record the outcome
            if row.processed_at is not None:
                return True
            row.attempts += 1
            try:
                async with session.begin_nested():
                    note = step if isinstance(step, str) else await step(session)
            except Exception as exc:
                _note_failure(row, exc)
                return False
            row.processed_at = utcnow()
            row.last_error = note
            row.next_attempt_at = None
            return True

    async def _record_failure(self, event_id: str, exc: Exception) -> None:
        async with self._database.write() as session:
            row = await _lock_event(session, event_id)
            if row is not None and row.processed_at is None:
                row.attempts += 1
                _note_failure(row, exc)

    async def apply_soon(self, event_id: str) -> None:
        """The inline apply after receipt; never raises (the retry job is the safety net). It is bounded by
        the Stripe client's timeouts, not by cancelling it: a cancelled database query can hang aiosqlite."""
        try:
            await self.apply(event_id)
        except Exception:
            log.exception("webhook_inline_apply_failed", event_id=event_id)

    async def retry_due(self, *, now: datetime | None = None, limit: int = 100) -> int:
        """Apply unprocessed events whose next attempt is due; returns how many got processed."""
        now = now or utcnow()
        async with self._database.read() as session:
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


async def _lock_event(session: AsyncSession, event_id: str) -> WebhookEvent | None:
    return await session.scalar(
        select(WebhookEvent)
        .where(WebhookEvent.id == event_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def _note_failure(row: WebhookEvent, exc: Exception) -> None:
    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    row.next_attempt_at = utcnow() + retry_delay(row.attempts)
    log.warning("webhook_apply_failed", event_id=row.id, type=row.type, attempts=row.attempts, error=str(exc))
