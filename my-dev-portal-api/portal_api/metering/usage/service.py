"""A customer's metered usage from rollups: series, the charge-by value for the period, and its price.

The customer sees the meters that bill their own subscription: the active meters whose Stripe price is an
item of their current subscription, each estimated with that price. Someone without a subscription (or
whose subscription has ended) is billed nothing and sees no meter.

`charge_report_for` is also what the Stripe usage reporter uses: for a meter, customer and period it gives
the per-hour values to send and the quantity Stripe should bill.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing import service as billing
from portal_api.billing.models import Subscription
from portal_api.billing_provider.connection import StripeConnection
from portal_api.config import Settings
from portal_api.db import Database
from portal_api.errors import Unprocessable
from portal_api.metering.charge_by import ChargeReport, HourValue, charge_report, period_hours
from portal_api.metering.meters.metrics import ChargeBy, from_milli
from portal_api.metering.models import Meter
from portal_api.metering.rollups import HOUR, compile_meter, day_of, hour_of
from portal_api.metering.store import UsageStore, store_for
from portal_api.metering.usage.prices import PriceCache
from portal_api.metering.usage.schemas import MeterUsage, SeriesPoint, UsageReport
from portal_api.pricing import amount_for_quantity

log = structlog.get_logger(__name__)

MAX_RANGE = timedelta(days=366)
Granularity = Literal["hour", "day"]
# Subscriptions in these states have no current period worth showing usage for.
ENDED_STATUSES = ("canceled", "incomplete_expired")


def calendar_month(now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


async def billed_subscription(session: AsyncSession, user_id: str) -> Subscription | None:
    """The subscription the dashboard shows (the most relevant one), unless it has ended."""
    subscription = await billing.current_subscription(session, user_id)
    if subscription is None or subscription.status in ENDED_STATUSES:
        return None
    return subscription


def billing_period(subscription: Subscription | None, now: datetime) -> tuple[datetime, datetime]:
    """The subscription's current period, or the calendar month (UTC) when it has none."""
    if subscription is not None and subscription.current_period_start and subscription.current_period_end:
        return subscription.current_period_start, subscription.current_period_end
    return calendar_month(now)


def check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise Unprocessable("from and to need a timezone, like 2025-01-01T00:00:00Z", code="naive_datetime")
    if start >= end:
        raise Unprocessable("from must be before to", code="invalid_range")
    if end - start > MAX_RANGE:
        raise Unprocessable("from and to may be at most 366 days apart", code="range_too_long")


async def period_hour_values(
    store: UsageStore, meter: Meter, user_id: str, period_start: datetime, period_end: datetime
) -> tuple[list[HourValue], Decimal | None]:
    """The meter's value per hour of the period as charge-by reads it (unique metrics summed by "first seen
    this period"), and the value carried into the period (last_ever only)."""
    compiled = compile_meter(meter)
    mode = ChargeBy(meter.charge_by)
    first, _ = period_hours(period_start, period_end)
    if compiled.unique and mode is ChargeBy.SUM:
        # Sum of "first seen this period" per hour = the period's distinct count.
        seen = await store.first_seen_per_hour(meter.id, user_id, first, period_end)
        hourly = [HourValue(hour, Decimal(count)) for hour, count in seen]
    else:
        rollups = await store.hourly(meter.id, user_id, first, period_end)
        hourly = [HourValue(r.hour, from_milli(r.value_milli)) for r in rollups]
    carried = None
    if mode is ChargeBy.LAST_EVER:
        previous = await store.last_before(meter.id, user_id, first)
        carried = from_milli(previous.value_milli) if previous else None
    return hourly, carried


async def charge_report_for(
    store: UsageStore, meter: Meter, user_id: str, period_start: datetime, period_end: datetime
) -> ChargeReport:
    """Per-hour values to report to Stripe and the value Stripe bills, for one meter, customer and period."""
    hourly, carried = await period_hour_values(store, meter, user_id, period_start, period_end)
    return charge_report(
        meter.charge_by, hourly, period_start=period_start, period_end=period_end, carried=carried
    )


async def usage_series(
    store: UsageStore, meter: Meter, user_id: str, start: datetime, end: datetime, granularity: Granularity
) -> list[SeriesPoint]:
    """The meter's value per hour or UTC day in [start, end), zero-filled."""
    compiled = compile_meter(meter)
    bucket = hour_of if granularity == "hour" else day_of
    step = HOUR if granularity == "hour" else timedelta(days=1)
    first = bucket(start)
    values: dict[datetime, Decimal] = defaultdict(Decimal)
    if compiled.unique and granularity == "day":
        for day, count in await store.distinct_per_day(meter.id, user_id, first, end):
            values[day] = Decimal(count)
    else:
        for rollup in await store.hourly(meter.id, user_id, first, end):
            values[bucket(rollup.hour)] += from_milli(rollup.value_milli)
    points = []
    moment = first
    while moment < end:
        points.append(SeriesPoint(start=moment, value=values.get(moment, Decimal(0))))
        moment += step
    return points


def estimate(price: dict[str, Any] | None, quantity: Decimal) -> int | None:
    """What Stripe would bill for the period: whole units (reports are whole units), priced like Stripe."""
    if price is None:
        return None
    units = int(quantity.to_integral_value(rounding=ROUND_HALF_UP))
    try:
        return amount_for_quantity(price, max(units, 0))
    except (ValueError, KeyError, TypeError):
        log.warning("usage_price_not_computable", price_id=price.get("id"))
        return None


async def usage_report(
    database: Database,
    settings: Settings,
    stripe: StripeConnection,
    prices: PriceCache,
    *,
    user_id: str,
    start: datetime | None,
    end: datetime | None,
    granularity: Granularity,
    now: datetime,
) -> UsageReport:
    """The customer's usage per active meter of their subscription's prices. Rollups are read first and the
    session closed; the prices for the estimates (cached, else from Stripe) are looked up after, with no
    transaction open."""
    async with database.read() as session:
        subscription = await billed_subscription(session, user_id)
        period_start, period_end = billing_period(subscription, now)
        start = start or period_start
        end = end or period_end
        check_range(start, end)
        store = store_for(session)
        price_ids = sorted({item.price_id for item in subscription.items}) if subscription else []
        meters: list[Meter] = []
        if price_ids:
            meters = list(
                await session.scalars(
                    select(Meter)
                    .where(Meter.active.is_(True), Meter.stripe_price_id.in_(price_ids))
                    .order_by(Meter.created_at, Meter.id)
                )
            )
        measured = [
            (
                meter,
                await charge_report_for(store, meter, user_id, period_start, period_end),
                await usage_series(store, meter, user_id, start, end, granularity),
            )
            for meter in meters
        ]
    out = []
    for meter, report, series in measured:
        price = await prices.get(stripe, meter.stripe_price_id, settings.usage_price_cache_seconds)
        out.append(
            MeterUsage(
                meter_id=meter.id,
                name=meter.name,
                price_id=meter.stripe_price_id,
                price_nickname=(price or {}).get("nickname") or meter.price_nickname,
                metric=compile_meter(meter).metric.type,
                charge_by=meter.charge_by,
                series=series,
                period_start=period_start,
                period_end=period_end,
                period_value=report.period_value,
                estimated_amount=estimate(price, report.period_value),
                currency=(price or {}).get("currency") or meter.price_currency,
            )
        )
    return UsageReport(
        from_=start,
        to=end,
        granularity=granularity,
        subscription_id=subscription.stripe_subscription_id if subscription else None,
        meters=out,
    )
