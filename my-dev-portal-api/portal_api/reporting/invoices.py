"""The signed-in customer's upcoming invoice: Stripe's preview and our own estimate side by side."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from portal_api.accounts.models import User
from portal_api.billing import service as billing
from portal_api.billing_provider.connection import StripeConnection
from portal_api.db import Database
from portal_api.errors import NotFound
from portal_api.metering.models import Meter
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


async def upcoming_invoice(database: Database, stripe: StripeConnection, user: User) -> UpcomingInvoiceOut:
    """Stripe's preview of the next invoice beside our estimate. Our rows are read first and the session
    closed; Stripe (the preview, the prices) is asked after, with no transaction open."""
    measured: list[tuple[str, Meter, Decimal]] = []
    async with database.read() as session:
        subscription = await billing.current_subscription(session, user.id)
        if subscription is None or subscription.status in NO_INVOICE_STATUSES:
            raise NotFound(
                "You have no subscription, so there is no upcoming invoice", code="no_subscription"
            )
        start, end = subscription.current_period_start, subscription.current_period_end
        for item in subscription.items:
            if start is None or end is None:
                break
            meters = await session.scalars(
                select(Meter)
                .where(Meter.stripe_price_id == item.price_id, Meter.active.is_(True))
                .order_by(Meter.id)
            )
            for meter in meters:
                quantity = await estimate.period_usage(session, meter, user.id, start, end)
                measured.append((item.price_id, meter, quantity))
    gateway = await stripe.gateway()
    invoice = await gateway.upcoming_invoice(
        subscription.stripe_customer_id, subscription.stripe_subscription_id
    )
    lines: list[EstimateLine] = []
    currency: str | None = None
    prices: dict[str, dict[str, Any]] = {}
    for price_id, meter, quantity in measured:
        if price_id not in prices:
            prices[price_id] = await gateway.retrieve_price(price_id)
        price = prices[price_id]
        currency = currency or price.get("currency")
        lines.append(
            EstimateLine(
                meter_id=meter.id,
                name=meter.name,
                price_id=price_id,
                quantity=quantity,
                amount=estimate.amount(price, quantity),
            )
        )
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
