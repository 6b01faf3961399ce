"""Reporting targets: each (subscription item, meter) whose usage goes to Stripe, its period and Stripe route.

A target is a subscription item in a billable status whose price is the price of an active meter; the
customer's usage of that meter is reported on that item. Items of system users (the Meter Test's customer)
are targets only of runs that name them. The billing period comes from our mirror of the
subscription and is refreshed from Stripe when the mirror says it has ended (webhooks may be late).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.system_users import SYSTEM_USER_IDS
from portal_api.billing import service as billing
from portal_api.billing.models import Subscription, SubscriptionItem
from portal_api.db import Database
from portal_api.errors import NotFound, PortalError
from portal_api.metering.meters.metrics import ChargeBy, is_unique, metric_adapter
from portal_api.metering.models import Meter
from portal_api.metering.rollups import HOUR, hour_of
from portal_api.stripe_client import StripeAuthFailed, StripeGateway, is_basil_or_later

log = structlog.get_logger(__name__)

# Stripe keeps invoicing (and accepting usage for) subscriptions in these states.
REPORTABLE_STATUSES = ("active", "trialing", "past_due", "unpaid")


@dataclass(frozen=True)
class Target:
    subscription_item_id: str  # Stripe si_...
    stripe_subscription_id: str
    stripe_customer_id: str
    user_id: str
    price_id: str
    meter_id: str
    meter_name: str
    charge_by: ChargeBy
    unique_metric: bool
    period_start: datetime
    period_end: datetime
    # Usage from this hour on is billable on this item (the hour the subscription started in).
    billable_from: datetime

    @property
    def key(self) -> tuple[str, str]:
        return (self.subscription_item_id, self.meter_id)

    @property
    def first_hour(self) -> datetime:
        """The first hour reported into the current period: the one containing the period start.

        An hour that straddles the period start is only complete after Stripe has closed the previous
        period, so it is billed in the new one (stamped at the period start).
        """
        return hour_of(self.period_start)

    def in_current_period(self, hour: datetime) -> bool:
        return hour + HOUR > self.period_start and hour < self.period_end

    def timestamp_for(self, hour: datetime) -> int:
        return int(max(hour, self.period_start).timestamp())


@dataclass(frozen=True)
class PriceRoute:
    """How usage on a price reaches Stripe: legacy usage records or events to the price's Billing Meter."""

    price_id: str
    kind: Literal["usage_record", "meter_event"] | None
    price: dict[str, Any]
    event_name: str | None = None
    customer_key: str = "stripe_customer_id"
    value_key: str = "value"
    meter_formula: str | None = None
    problem: str | None = None


def _target(row: Any) -> Target | None:
    (
        item_id,
        subscription_id,
        customer_id,
        user_id,
        price_id,
        meter_id,
        meter_name,
        charge_by,
        metric,
        period_start,
        period_end,
        created_at,
    ) = row
    if period_start is None or period_end is None:
        return None
    try:
        unique = is_unique(metric_adapter.validate_python(json.loads(metric)))
    except ValueError:
        unique = False
    started = min(created_at, period_start) if created_at else period_start
    return Target(
        subscription_item_id=item_id,
        stripe_subscription_id=subscription_id,
        stripe_customer_id=customer_id,
        user_id=user_id,
        price_id=price_id,
        meter_id=meter_id,
        meter_name=meter_name,
        charge_by=ChargeBy(charge_by),
        unique_metric=unique,
        period_start=period_start,
        period_end=period_end,
        billable_from=hour_of(started),
    )


async def load_targets(
    session: AsyncSession,
    *,
    subscription_item_ids: Iterable[str] | None = None,
    meter_id: str | None = None,
) -> list[Target]:
    query = (
        select(
            SubscriptionItem.stripe_item_id,
            Subscription.stripe_subscription_id,
            Subscription.stripe_customer_id,
            Subscription.user_id,
            SubscriptionItem.price_id,
            Meter.id,
            Meter.name,
            Meter.charge_by,
            Meter.metric,
            Subscription.current_period_start,
            Subscription.current_period_end,
            Subscription.created_at,
        )
        .join(Subscription, Subscription.id == SubscriptionItem.subscription_id)
        .join(Meter, Meter.stripe_price_id == SubscriptionItem.price_id)
        .where(Meter.active.is_(True), Subscription.status.in_(REPORTABLE_STATUSES))
        .order_by(SubscriptionItem.stripe_item_id, Meter.id)
    )
    if subscription_item_ids is not None:
        query = query.where(SubscriptionItem.stripe_item_id.in_(list(subscription_item_ids)))
    else:
        # The Meter Test reports its own customer's items (named by id); no other run touches them.
        query = query.where(Subscription.user_id.not_in(sorted(SYSTEM_USER_IDS)))
    if meter_id is not None:
        query = query.where(Meter.id == meter_id)
    rows = (await session.execute(query)).all()
    return [t for t in (_target(r) for r in rows) if t is not None]


async def refresh_subscriptions(
    database: Database,
    gateway: StripeGateway,
    subscription_ids: Sequence[str],
    *,
    concurrency: int = 8,
) -> dict[str, str]:
    """Re-read subscriptions from Stripe into our mirror (period, status, items); returns failures by id."""
    failures: dict[str, str] = {}
    limit = asyncio.Semaphore(concurrency)

    async def refresh(subscription_id: str) -> None:
        async with limit:
            try:
                data = await gateway.retrieve_subscription(subscription_id)
            except StripeAuthFailed:
                raise
            except PortalError as exc:
                failures[subscription_id] = exc.message
                return
            async with database.write() as session:
                await billing.sync_subscription(session, data)

    await asyncio.gather(*(refresh(s) for s in dict.fromkeys(subscription_ids)))
    return failures


async def price_routes(
    gateway: StripeGateway, api_version: str, price_ids: Iterable[str]
) -> dict[str, PriceRoute]:
    """Look up each price (and its Billing Meter) once; a price that cannot be billed carries a problem."""
    routes: dict[str, PriceRoute] = {}
    for price_id in dict.fromkeys(price_ids):
        routes[price_id] = await price_route(gateway, api_version, price_id)
    return routes


async def price_route(gateway: StripeGateway, api_version: str, price_id: str) -> PriceRoute:
    try:
        price = await gateway.retrieve_price(price_id)
    except NotFound:
        return PriceRoute(price_id, None, {}, problem=f"Stripe has no price {price_id}")
    recurring = price.get("recurring") or {}
    if recurring.get("usage_type") != "metered":
        return PriceRoute(
            price_id, None, price, problem=f"Price {price_id} is not metered (usage_type licensed)"
        )
    meter_id = recurring.get("meter")
    if meter_id:
        try:
            meter = await gateway.raw("get", f"/v1/billing/meters/{meter_id}")
        except NotFound:
            return PriceRoute(
                price_id,
                None,
                price,
                problem=f"Price {price_id} points at Billing Meter {meter_id}, which is gone",
            )
        if meter.get("status") not in (None, "active"):
            return PriceRoute(
                price_id, None, price, problem=f"Billing Meter {meter_id} is {meter.get('status')}"
            )
        return PriceRoute(
            price_id,
            "meter_event",
            price,
            event_name=meter["event_name"],
            customer_key=(meter.get("customer_mapping") or {}).get("event_payload_key")
            or "stripe_customer_id",
            value_key=(meter.get("value_settings") or {}).get("event_payload_key") or "value",
            meter_formula=(meter.get("default_aggregation") or {}).get("formula"),
        )
    if is_basil_or_later(api_version):
        return PriceRoute(
            price_id,
            None,
            price,
            problem=f"Price {price_id} has no Billing Meter; Stripe API {api_version} bills usage "
            "only through meters",
        )
    return PriceRoute(price_id, "usage_record", price)
