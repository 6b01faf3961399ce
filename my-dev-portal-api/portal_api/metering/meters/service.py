"""Meter rules: create, update and delete with Stripe price checks; the meter list.

Creating or changing a meter asks Stripe about its price first, outside any transaction; the write then
takes the meters lock, re-reads the meter and rebuilds its rollups in one unit of work.

A Stripe price is billed by at most one active meter. The reporter sends each active meter's usage to every
subscription item of its price, so a second active meter on the price would add its usage to the same
item (and, for last/max prices, overwrite the first one's values): creating or activating one is refused
with 409 `price_already_metered`, checked under the meters lock so two concurrent creations cannot both win.
To bill two kinds of calls on one price, count them in one meter with an "or" filter.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.db import Database, utcnow
from portal_api.errors import Conflict, NotFound
from portal_api.metering.meters.filters import dump_filter
from portal_api.metering.meters.price_check import check_price
from portal_api.metering.meters.rebuild import lock_meters_exclusive, rebuild_rollups
from portal_api.metering.meters.schemas import MeterCreate, MeterUpdate
from portal_api.metering.meters.validation import parse_filters, parse_metric
from portal_api.metering.models import Meter
from portal_api.stripe_client import StripeGateway


async def list_meters(session: AsyncSession) -> list[Meter]:
    return list((await session.execute(select(Meter).order_by(Meter.created_at, Meter.id))).scalars().all())


async def active_meter_price_ids(database: Database) -> set[str]:
    """The Stripe prices an active meter bills (read on a short session of its own)."""
    async with database.read() as session:
        rows = await session.scalars(select(Meter.stripe_price_id).where(Meter.active.is_(True)).distinct())
        return set(rows)


async def refuse_second_active_meter(session: AsyncSession, price_id: str, meter_id: str | None) -> None:
    """409 when an active meter other than `meter_id` bills `price_id` (call it under the meters lock)."""
    other = await session.scalar(
        select(Meter)
        .where(Meter.stripe_price_id == price_id, Meter.active.is_(True), Meter.id != (meter_id or ""))
        .order_by(Meter.created_at, Meter.id)
        .limit(1)
    )
    if other is not None:
        raise Conflict(
            f"Price {price_id} is already billed by the active meter “{other.name}” ({other.id}). Two "
            "active meters on one price would both report to each subscriber's item and bill the usage "
            "twice: edit or deactivate that meter, or count both kinds of calls in it with an 'or' filter.",
            code="price_already_metered",
            meter_id=other.id,
        )


async def get_meter(session: AsyncSession, meter_id: str, *, for_update: bool = False) -> Meter:
    query = select(Meter).where(Meter.id == meter_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    meter = await session.scalar(query)
    if meter is None:
        raise NotFound(f"There is no meter {meter_id}", code="meter_not_found")
    return meter


async def create_meter(
    database: Database, settings: Settings, gateway: StripeGateway | None, body: MeterCreate
) -> Meter:
    node = parse_filters(body.filters)
    metric = parse_metric(body.metric)
    checked = await check_price(
        gateway,
        gateway.api_version if gateway is not None else settings.stripe_api_version,
        price_id=body.stripe_price_id,
        product_id=body.stripe_product_id,
        charge_by=body.charge_by,
    )
    async with database.write() as session:
        await lock_meters_exclusive(session)
        if body.active:
            await refuse_second_active_meter(session, checked.price_id, None)
        meter = Meter(
            name=body.name.strip(),
            provider=body.provider,
            stripe_product_id=checked.product_id,
            stripe_price_id=checked.price_id,
            price_nickname=checked.nickname,
            price_currency=checked.currency,
            filters=_dump(dump_filter(node)),
            metric=_dump(metric.model_dump()),
            charge_by=checked.charge_by.value,
            active=body.active,
            version=1,
        )
        session.add(meter)
        await session.flush()
        if meter.active:
            await rebuild_rollups(session, settings, meter)
        return await _stored(session, meter)


async def update_meter(
    database: Database, settings: Settings, gateway: StripeGateway | None, meter_id: str, body: MeterUpdate
) -> Meter:
    given = body.model_fields_set
    node = parse_filters(body.filters) if "filters" in given else None
    metric = parse_metric(body.metric) if "metric" in given and body.metric is not None else None
    async with database.read() as session:
        current = await get_meter(session, meter_id)
    checked = None
    if given & {"stripe_price_id", "stripe_product_id", "charge_by"}:
        checked = await check_price(
            gateway,
            gateway.api_version if gateway is not None else settings.stripe_api_version,
            price_id=body.stripe_price_id or current.stripe_price_id,
            product_id=body.stripe_product_id if "stripe_product_id" in given else None,
            charge_by=body.charge_by if "charge_by" in given else None,
        )
    async with database.write() as session:
        await lock_meters_exclusive(session)
        meter = await get_meter(session, meter_id, for_update=True)
        previous_price = meter.stripe_price_id
        if checked is not None:
            meter.stripe_price_id = checked.price_id
            meter.stripe_product_id = checked.product_id
            meter.price_nickname = checked.nickname
            meter.price_currency = checked.currency
            meter.charge_by = checked.charge_by.value
        if body.name is not None:
            meter.name = body.name.strip()
        needs_rebuild = False
        if "filters" in given:
            filters = _dump(dump_filter(node))
            if filters != meter.filters:
                meter.filters = filters
                needs_rebuild = True
        if metric is not None:
            dumped = _dump(metric.model_dump())
            if dumped != meter.metric:
                meter.metric = dumped
                needs_rebuild = True
        price_changed = meter.stripe_price_id != previous_price
        activated = body.active is True and not meter.active
        if body.active is not None and body.active != meter.active:
            meter.active = body.active
            # Inactive meters do not count; turning one back on fills the gap from the raw events.
            needs_rebuild = needs_rebuild or body.active
        if meter.active and (price_changed or activated):
            await refuse_second_active_meter(session, meter.stripe_price_id, meter.id)
        if needs_rebuild:
            meter.version += 1
            meter.updated_at = utcnow()
            await session.flush()
            if meter.active:
                await rebuild_rollups(session, settings, meter)
        return await _stored(session, meter)


async def delete_meter(session: AsyncSession, meter_id: str) -> None:
    await lock_meters_exclusive(session)
    meter = await get_meter(session, meter_id, for_update=True)
    await session.delete(meter)  # rollups go with it (ON DELETE CASCADE)


async def _stored(session: AsyncSession, meter: Meter) -> Meter:
    """The meter as it will be committed (onupdate timestamps included), for the response."""
    await session.flush()
    await session.refresh(meter)
    return meter


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
