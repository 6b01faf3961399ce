"""The signed-in customer's upcoming invoice: Stripe's preview and our own estimate side by side.

The estimate bills each metered item as Stripe will. After a price swap this period (the item's price
history, see reporting/targets.py), a legacy price bills every hour's usage on the item at its price now (the
old price's meter for the hours before the swap, the new one's after, summed into one quantity); a Billing
Meter price bills its meter's usage from the swap on only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.models import User
from portal_api.billing import service as billing
from portal_api.billing.models import SubscriptionItem, SubscriptionItemPrice
from portal_api.billing_provider.connection import StripeConnection
from portal_api.db import Database
from portal_api.errors import NotFound
from portal_api.metering.charge_by import HourValue, charge_report
from portal_api.metering.models import Meter
from portal_api.metering.rollups import hour_of
from portal_api.metering.store import store_for
from portal_api.metering.usage.service import period_hour_values
from portal_api.reporting import estimate
from portal_api.reporting.invoice_lines import invoice_lines, line_price_id, line_quantity
from portal_api.reporting.schemas import (
    Estimate,
    EstimateLine,
    StripeInvoiceLine,
    StripeInvoicePreview,
    UpcomingInvoiceOut,
)

NO_INVOICE_STATUSES = ("canceled", "incomplete_expired")


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value is not None else None


def stripe_preview(invoice: dict[str, Any]) -> StripeInvoicePreview:
    return StripeInvoicePreview(
        amount_due=int(invoice.get("amount_due") or 0),
        subtotal=int(invoice.get("subtotal") or 0),
        currency=str(invoice.get("currency") or ""),
        period_start=_time(invoice.get("period_start")),
        period_end=_time(invoice.get("period_end")),
        lines=[
            StripeInvoiceLine(
                description=line.get("description"),
                amount=int(line.get("amount") or 0),
                quantity=line_quantity(line),
                price_id=line_price_id(line),
            )
            for line in invoice_lines(invoice)
        ],
    )


@dataclass
class _Measured:
    """One meter's usage in the hours an item had the meter's price this period."""

    item_id: str
    current: bool  # the item has this price now
    meter: Meter
    hourly: list[HourValue]
    carried: Decimal | None


async def _price_windows(
    session: AsyncSession, item: SubscriptionItem, period_start: datetime
) -> list[tuple[str, datetime | None, datetime | None]]:
    rows = (
        await session.execute(
            select(SubscriptionItemPrice.price_id, SubscriptionItemPrice.since, SubscriptionItemPrice.until)
            .where(
                SubscriptionItemPrice.subscription_item_id == item.id,
                or_(SubscriptionItemPrice.until.is_(None), SubscriptionItemPrice.until > period_start),
            )
            .order_by(SubscriptionItemPrice.created_at)
        )
    ).all()
    return [(r.price_id, r.since, r.until) for r in rows] or [(item.price_id, None, None)]


def _in_window(hour: datetime, since: datetime | None, until: datetime | None) -> bool:
    """The hour is billed on the window's price: the hour of a swap goes to the new price."""
    return (since is None or hour >= hour_of(since)) and (until is None or hour < hour_of(until))


async def _measure(
    session: AsyncSession, user_id: str, items: list[SubscriptionItem], start: datetime, end: datetime
) -> list[_Measured]:
    store = store_for(session)
    measured: list[_Measured] = []
    for item in items:
        for price_id, since, until in await _price_windows(session, item, start):
            meters = await session.scalars(
                select(Meter)
                .where(Meter.stripe_price_id == price_id, Meter.active.is_(True))
                .order_by(Meter.id)
            )
            for meter in meters:
                hourly, carried = await period_hour_values(store, meter, user_id, start, end)
                kept = [h for h in hourly if _in_window(h.hour, since, until)]
                measured.append(_Measured(item.stripe_item_id, until is None, meter, kept, carried))
    return measured


def _estimate_lines(
    measured: list[_Measured],
    item_prices: dict[str, str],
    prices: dict[str, dict[str, Any]],
    start: datetime,
    end: datetime,
) -> list[EstimateLine]:
    lines: list[EstimateLine] = []
    for item_id, price_id in item_prices.items():
        price = prices.get(price_id) or {}
        by_meter = bool((price.get("recurring") or {}).get("meter"))
        current = [m for m in measured if m.item_id == item_id and m.current]
        earlier = [m for m in measured if m.item_id == item_id and not m.current]
        for index, entry in enumerate(current):
            hourly = list(entry.hourly)
            if index == 0 and not by_meter:
                # Legacy usage records stay on the item: the hours before the swap are billed at this price.
                hourly += [h for m in earlier for h in m.hourly]
            quantity = charge_report(
                entry.meter.charge_by, hourly, period_start=start, period_end=end, carried=entry.carried
            ).period_value
            lines.append(
                EstimateLine(
                    meter_id=entry.meter.id,
                    name=entry.meter.name,
                    price_id=price_id,
                    quantity=quantity,
                    amount=estimate.amount(price, quantity) if price else None,
                )
            )
    return lines


async def upcoming_invoice(database: Database, stripe: StripeConnection, user: User) -> UpcomingInvoiceOut:
    """Stripe's preview of the next invoice beside our estimate. Our rows are read first and the session
    closed; Stripe (the preview, the prices) is asked after, with no transaction open."""
    measured: list[_Measured] = []
    item_prices: dict[str, str] = {}
    async with database.read() as session:
        subscription = await billing.current_subscription(session, user.id)
        if subscription is None or subscription.status in NO_INVOICE_STATUSES:
            raise NotFound(
                "You have no subscription, so there is no upcoming invoice", code="no_subscription"
            )
        start, end = subscription.current_period_start, subscription.current_period_end
        item_prices = {item.stripe_item_id: item.price_id for item in subscription.items}
        if start is not None and end is not None:
            measured = await _measure(session, user.id, list(subscription.items), start, end)
    gateway = await stripe.gateway()
    invoice = await gateway.upcoming_invoice(
        subscription.stripe_customer_id, subscription.stripe_subscription_id
    )
    prices: dict[str, dict[str, Any]] = {}
    for item_id, price_id in item_prices.items():
        if price_id not in prices and any(m.item_id == item_id and m.current for m in measured):
            prices[price_id] = await gateway.retrieve_price(price_id)
    lines = (
        _estimate_lines(measured, item_prices, prices, start, end)
        if start is not None and end is not None
        else []
    )
    currency = next((p.get("currency") for p in prices.values() if p.get("currency")), None)
    return UpcomingInvoiceOut(
        subscription_id=subscription.stripe_subscription_id,
        stripe=stripe_preview(invoice),
        estimate=Estimate(
            amount=sum(line.amount or 0 for line in lines),
            currency=currency or invoice.get("currency"),
            period_start=start,
            period_end=end,
            lines=lines,
        ),
    )
