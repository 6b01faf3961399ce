"""The signed-in customer's upcoming invoice: Stripe's preview and our own estimate side by side."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.models import User
from portal_api.billing import service as billing
from portal_api.billing_provider.config import effective_stripe_config
from portal_api.billing_provider.gateways import StripeGateways
from portal_api.config import Settings
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


async def upcoming_invoice(
    session: AsyncSession, settings: Settings, gateways: StripeGateways, user: User
) -> UpcomingInvoiceOut:
    subscription = await billing.current_subscription(session, user.id)
    if subscription is None or subscription.status in NO_INVOICE_STATUSES:
        raise NotFound("You have no subscription, so there is no upcoming invoice", code="no_subscription")
    gateway = gateways.get(await effective_stripe_config(session, settings))
    invoice = await gateway.upcoming_invoice(
        subscription.stripe_customer_id, subscription.stripe_subscription_id
    )

    lines: list[EstimateLine] = []
    currency: str | None = None
    start, end = subscription.current_period_start, subscription.current_period_end
    for item in subscription.items:
        meters = list(
            await session.scalars(
                select(Meter)
                .where(Meter.stripe_price_id == item.price_id, Meter.active.is_(True))
                .order_by(Meter.id)
            )
        )
        if not meters or start is None or end is None:
            continue
        price = await gateway.retrieve_price(item.price_id)
        currency = currency or price.get("currency")
        for meter in meters:
            quantity = await estimate.period_usage(session, meter, user.id, start, end)
            lines.append(
                EstimateLine(
                    meter_id=meter.id,
                    name=meter.name,
                    price_id=item.price_id,
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
