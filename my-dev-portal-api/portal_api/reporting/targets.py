"""Reporting targets: each (subscription item, meter) whose usage goes to Stripe, its period and Stripe route.

A target is a subscription item in a billable status that has (or had, this period) the price of an active
meter; the customer's usage of that meter is reported on that item for the hours the item had that price
(its windows, from the item's price history, billing.models.SubscriptionItemPrice). The billing period
comes from our mirror of the subscription and is refreshed from Stripe when the mirror says it has ended
(webhooks may be late). Items of system users (the Meter Test's customer) are targets only of runs
that name them.

After a price swap (Stripe keeps the item and its id), what Stripe bills for the usage of the period
depends on how usage reaches it:
- legacy usage records belong to the item: Stripe bills every record of the period at the end of it, at the
  price the item has then. So the old price's meter keeps reporting its hours before the swap on the item
  (late hours included), and the new price's meter reports the hours from the swap on.
- Billing Meter events belong to the customer, and an item bills its meter's usage only from the moment it
  got its price (classic billing mode: "we reflect only usage that occurs after the update"). So only the
  new price's meter reports, from the swap on, its events stamped after the swap; the old price's hours
  before it are not billed by Stripe and are not sent (report_decisions.routable_targets).
The hour in which the swap happened goes to the new price, as the hour straddling a period start goes to
the new period.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.system_users import SYSTEM_USER_IDS
from portal_api.billing import service as billing
from portal_api.billing.models import Subscription, SubscriptionItem, SubscriptionItemPrice
from portal_api.db import Database
from portal_api.errors import NotFound, PortalError
from portal_api.metering.meters.metrics import ChargeBy, is_unique, metric_adapter
from portal_api.metering.models import Meter
from portal_api.metering.rollups import HOUR, hour_of
from portal_api.stripe_client import StripeAuthFailed, StripeGateway, is_basil_or_later

log = structlog.get_logger(__name__)

# Stripe keeps invoicing (and accepting usage for) subscriptions in these states.
REPORTABLE_STATUSES = ("active", "trialing", "past_due", "unpaid")
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Window:
    """Hours [start, end) in which the item had the target's price (end None: it has it now). `since`: when
    a price swap began the window (None: the item had the price from its start)."""

    start: datetime
    end: datetime | None
    since: datetime | None = None

    def covers(self, hour: datetime) -> bool:
        return self.start <= hour and (self.end is None or hour < self.end)


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
    # The hours the item had this price, oldest first; none given: [billable_from, now).
    windows: tuple[Window, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.subscription_item_id, self.meter_id)

    @property
    def price_windows(self) -> tuple[Window, ...]:
        return self.windows or (Window(self.billable_from, None),)

    @property
    def current(self) -> bool:
        """Does the item have this price now (else the price was swapped away this period)?"""
        return self.price_windows[-1].end is None

    @property
    def period_first_hour(self) -> datetime:
        """The hour containing the period start.

        An hour that straddles the period start is only complete after Stripe has closed the previous
        period, so it is billed in the new one (stamped at the period start).
        """
        return hour_of(self.period_start)

    @property
    def first_hour(self) -> datetime:
        """The first hour reported into the current period: the period's first hour, or the hour of the swap
        to this price when that came later."""
        return max(self.period_first_hour, self.price_windows[0].start)

    def window_of(self, hour: datetime) -> Window | None:
        return next((w for w in self.price_windows if w.covers(hour)), None)

    def covers(self, hour: datetime) -> bool:
        """Is usage of this hour this target's (the item had the price then)?"""
        return self.window_of(hour) is not None

    def before_start(self, hour: datetime) -> bool:
        """Is the hour before the item began (not before a swap to this price)?"""
        first = self.price_windows[0]
        return hour < first.start and first.since is None

    def in_current_period(self, hour: datetime) -> bool:
        return hour + HOUR > self.period_start and hour < self.period_end

    def timestamp_for(self, hour: datetime) -> int:
        """The hour's start, moved up to the period start, and to just after the swap that began the hour's
        window (a Billing Meter bills usage stamped after the swap only)."""
        floor = self.period_start
        window = self.window_of(hour)
        if window is not None and window.since is not None:
            floor = max(floor, window.since + SECOND)
        moment = min(max(hour, floor), self.period_end - SECOND)
        return int(moment.timestamp())


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


def _window(row: Any, started: datetime) -> Window | None:
    since, until = row.since, row.until
    start = hour_of(since) if since is not None else hour_of(started)
    end = hour_of(until) if until is not None else None
    if end is not None and end <= start:
        return None  # the item had the price for less than its first hour: that hour is the next price's
    return Window(start, end, since)


def _target(rows: Sequence[Any]) -> Target | None:
    """One (item, meter) pair from its rows (one per window of the item's price history)."""
    row = rows[0]
    if row.current_period_start is None or row.current_period_end is None:
        return None
    try:
        unique = is_unique(metric_adapter.validate_python(json.loads(row.metric)))
    except ValueError:
        unique = False
    period_start = row.current_period_start
    started = min(row.created_at, period_start) if row.created_at else period_start
    windows = tuple(
        sorted(
            (w for r in rows if (w := _window(r, started)) is not None),
            key=lambda w: w.start,
        )
    )
    if not windows:
        return None
    return Target(
        subscription_item_id=row.stripe_item_id,
        stripe_subscription_id=row.stripe_subscription_id,
        stripe_customer_id=row.stripe_customer_id,
        user_id=row.user_id,
        price_id=row.price_id,
        meter_id=row.meter_id,
        meter_name=row.meter_name,
        charge_by=ChargeBy(row.charge_by),
        unique_metric=unique,
        period_start=period_start,
        period_end=row.current_period_end,
        billable_from=windows[0].start,
        windows=windows,
    )


async def load_targets(
    session: AsyncSession,
    *,
    subscription_item_ids: Iterable[str] | None = None,
    meter_id: str | None = None,
) -> list[Target]:
    """Every (item, meter) pair to report this period: an item's current price and the prices it had
    earlier in the period, each with the hours it had them."""
    query = (
        select(
            SubscriptionItem.stripe_item_id,
            Subscription.stripe_subscription_id,
            Subscription.stripe_customer_id,
            Subscription.user_id,
            SubscriptionItemPrice.price_id,
            Meter.id.label("meter_id"),
            Meter.name.label("meter_name"),
            Meter.charge_by,
            Meter.metric,
            Subscription.current_period_start,
            Subscription.current_period_end,
            Subscription.created_at,
            SubscriptionItemPrice.since,
            SubscriptionItemPrice.until,
        )
        .join(Subscription, Subscription.id == SubscriptionItem.subscription_id)
        .join(SubscriptionItemPrice, SubscriptionItemPrice.subscription_item_id == SubscriptionItem.id)
        .join(Meter, Meter.stripe_price_id == SubscriptionItemPrice.price_id)
        .where(
            Meter.active.is_(True),
            Subscription.status.in_(REPORTABLE_STATUSES),
            or_(
                SubscriptionItemPrice.until.is_(None),
                SubscriptionItemPrice.until > Subscription.current_period_start,
            ),
        )
        .order_by(SubscriptionItem.stripe_item_id, Meter.id)
    )
    if subscription_item_ids is not None:
        query = query.where(SubscriptionItem.stripe_item_id.in_(list(subscription_item_ids)))
    else:
        # The Meter Test reports its own customer's items (named by id); no other run touches them.
        query = query.where(Subscription.user_id.not_in(sorted(SYSTEM_USER_IDS)))
    if meter_id is not None:
        query = query.where(Meter.id == meter_id)
    grouped: dict[tuple[str, str], list[Any]] = {}
    for row in (await session.execute(query)).all():
        grouped.setdefault((row.stripe_item_id, row.meter_id), []).append(row)
    return [t for t in (_target(rows) for rows in grouped.values()) if t is not None]


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
