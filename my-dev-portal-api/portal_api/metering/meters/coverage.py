"""Meter coverage of the catalog: metered Stripe prices no active meter bills, and prices two of them do.

The catalog comes from the plan catalog (Stripe, cached briefly), asked before the meters are read, so no
transaction is open while Stripe answers.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from portal_api.db import Database
from portal_api.metering.meters.schemas import DoubleMeteredPrice, MeterCoverage, UnbilledPrice
from portal_api.metering.models import Meter
from portal_api.plans.service import PlanCatalog


async def meter_coverage(database: Database, catalog: PlanCatalog) -> MeterCoverage:
    plans = await catalog.plans()
    async with database.read() as session:
        meters = list(await session.scalars(select(Meter).order_by(Meter.created_at, Meter.id)))
    active: dict[str, list[str]] = defaultdict(list)
    inactive: dict[str, list[str]] = defaultdict(list)
    for meter in meters:
        (active if meter.active else inactive)[meter.stripe_price_id].append(meter.id)
    unbilled = [
        UnbilledPrice(
            price_id=plan.price_id,
            product_id=plan.product_id,
            product_name=plan.product_name,
            nickname=plan.nickname,
            lookup_key=plan.lookup_key,
            currency=plan.currency,
            inactive_meter_ids=inactive.get(plan.price_id, []),
        )
        for plan in plans
        if plan.usage_type == "metered" and not active.get(plan.price_id)
    ]
    nicknames = {meter.stripe_price_id: meter.price_nickname for meter in meters}
    nicknames.update({plan.price_id: plan.nickname for plan in plans})
    double = [
        DoubleMeteredPrice(price_id=price_id, nickname=nicknames.get(price_id), meter_ids=ids)
        for price_id, ids in active.items()
        if len(ids) > 1
    ]
    return MeterCoverage(unbilled=unbilled, double_metered=double)
