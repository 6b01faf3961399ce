"""Our side of the bill: a meter's usage in a billing period (from rollups) and what the ledger put in Stripe.

- `period_usage`: the period's billed quantity from our rollups through charge_by.py, for the hours billed in
  the period (see report_decisions.py: the hour straddling the period start counts in the new period).
- `reported_quantity`: Stripe's aggregation (sum / max / last / last_ever by timestamp) applied to the
  ledger rows Stripe has confirmed for the period: what Stripe's invoice should show for the item.
- `amount`: Stripe's pricing math (portal_api.pricing) on a quantity.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.metering.meters.metrics import ChargeBy, from_milli
from portal_api.metering.models import Meter
from portal_api.metering.store import store_for
from portal_api.metering.usage.service import charge_report_for
from portal_api.pricing import PriceShapeError, amount_for_quantity
from portal_api.reporting.models import ReportStatus, UsageReport


async def period_usage(
    session: AsyncSession,
    meter: Meter,
    user_id: str,
    period_start: datetime,
    period_end: datetime,
) -> Decimal:
    """The meter's billed quantity for the user over the period so far (the open hour included)."""
    report = await charge_report_for(store_for(session), meter, user_id, period_start, period_end)
    return report.period_value


async def reported_quantity(
    session: AsyncSession,
    subscription_item_id: str,
    meter_id: str,
    charge_by: ChargeBy,
    period_start: datetime,
    period_end: datetime,
    *,
    statuses: tuple[str, ...] = (ReportStatus.SENT,),
) -> Decimal:
    """Stripe's aggregation over the ledger rows in `statuses` stamped inside the period."""
    start, end = int(period_start.timestamp()), int(period_end.timestamp())
    rows = (
        await session.execute(
            select(
                UsageReport.report_timestamp,
                UsageReport.id,
                UsageReport.action,
                UsageReport.kind,
                UsageReport.quantity_milli,
                UsageReport.target_milli,
            )
            .where(
                UsageReport.subscription_item_id == subscription_item_id,
                UsageReport.meter_id == meter_id,
                UsageReport.status.in_(statuses),
                UsageReport.report_timestamp < end,
            )
            .order_by(UsageReport.report_timestamp, UsageReport.id)
        )
    ).all()
    inside = [r for r in rows if r.report_timestamp >= start]
    if charge_by is ChargeBy.SUM:
        return from_milli(sum(r.quantity_milli for r in inside))
    # Set semantics: one value per timestamp, the last one written wins. Legacy last_ever looks back before
    # the period; a Billing Meter only sees the period (report_decisions.py re-sends the carried value).
    legacy = any(r.kind == "usage_record" for r in rows)
    latest: dict[int, int] = {}
    for r in rows if (charge_by is ChargeBy.LAST_EVER and legacy) else inside:
        latest[r.report_timestamp] = r.target_milli
    if not latest:
        return Decimal(0)
    if charge_by is ChargeBy.MAX and legacy:
        return from_milli(max(latest.values()))
    return from_milli(latest[max(latest)])


def amount(price: Mapping[str, Any], quantity: Decimal) -> int | None:
    """Minor units Stripe charges for `quantity` on `price`; None for a price we cannot price."""
    try:
        return amount_for_quantity(price, quantity)
    except (PriceShapeError, KeyError, ValueError, TypeError):
        return None
