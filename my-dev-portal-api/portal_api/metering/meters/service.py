"""Meter rules: create, update, delete with price checks; active meters for ingest; rollup rebuilds."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.errors import NotFound, Unprocessable
from portal_api.metering.events import view_from_row
from portal_api.metering.meters.filters import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    AndGroup,
    Condition,
    OrGroup,
    dump_filter,
    error_path,
    filter_adapter,
    tree_stats,
)
from portal_api.metering.meters.metrics import metric_adapter
from portal_api.metering.meters.price_check import check_price
from portal_api.metering.meters.schemas import MeterCreate, MeterUpdate
from portal_api.metering.models import Meter
from portal_api.metering.rollups import CompiledMeter, RollupBatch, compile_meter, hour_of
from portal_api.metering.settings import MeteringSettings
from portal_api.metering.store import store_for

# One PostgreSQL advisory lock orders meter changes against ingest: ingest batches hold it shared, meter
# changes (and their rebuilds) exclusively. SQLite serializes write transactions anyway (BEGIN IMMEDIATE).
METERS_LOCK_KEY = 0x6D64706D65746572  # "mdpmeter"


async def lock_meters_shared(session: AsyncSession) -> None:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": METERS_LOCK_KEY})


async def lock_meters_exclusive(session: AsyncSession) -> None:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": METERS_LOCK_KEY})


async def active_compiled_meters(session: AsyncSession) -> list[CompiledMeter]:
    meters = (await session.execute(select(Meter).where(Meter.active.is_(True)))).scalars().all()
    return [compile_meter(meter) for meter in meters]


def _clean_message(message: str) -> str:
    return message.removeprefix("Value error, ")


def parse_filters(raw: Any) -> AndGroup | OrGroup | Condition | None:
    """Validate a filter tree; 422 `invalid_filter` naming the path of the first problem."""
    if raw is None:
        return None
    try:
        node = filter_adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = error_path(tuple(first["loc"]))
        raise Unprocessable(
            f"{path}: {_clean_message(first['msg'])}", code="invalid_filter", path=path
        ) from None
    depth, conditions = tree_stats(node)
    if depth > MAX_DEPTH:
        raise Unprocessable(
            f"filters: nested more than {MAX_DEPTH} levels deep", code="invalid_filter", path="filters"
        )
    if conditions > MAX_CONDITIONS:
        raise Unprocessable(
            f"filters: more than {MAX_CONDITIONS} conditions", code="invalid_filter", path="filters"
        )
    return node


def parse_metric(raw: Any) -> Any:
    try:
        return metric_adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        parts = [
            str(p) for p in first["loc"] if p not in ("event_count", "unique_users", "unique_sessions", "sum")
        ]
        path = ".".join(["metric", *parts])
        raise Unprocessable(
            f"{path}: {_clean_message(first['msg'])}", code="invalid_metric", path=path
        ) from None


async def list_meters(session: AsyncSession) -> list[Meter]:
    return list((await session.execute(select(Meter).order_by(Meter.created_at, Meter.id))).scalars().all())


async def get_meter(session: AsyncSession, meter_id: str, *, for_update: bool = False) -> Meter:
    query = select(Meter).where(Meter.id == meter_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    meter = await session.scalar(query)
    if meter is None:
        raise NotFound(f"There is no meter {meter_id}", code="meter_not_found")
    return meter


async def create_meter(
    session: AsyncSession, settings: Settings, metering: MeteringSettings, gateway: Any, body: MeterCreate
) -> Meter:
    node = parse_filters(body.filters)
    metric = parse_metric(body.metric)
    checked = await check_price(
        gateway,
        settings.stripe_api_version,
        price_id=body.stripe_price_id,
        product_id=body.stripe_product_id,
        charge_by=body.charge_by,
    )
    await lock_meters_exclusive(session)
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
        await rebuild_rollups(session, metering, meter)
    return await _stored(session, meter)


async def update_meter(
    session: AsyncSession,
    settings: Settings,
    metering: MeteringSettings,
    gateway: Any,
    meter_id: str,
    body: MeterUpdate,
) -> Meter:
    given = body.model_fields_set
    node = parse_filters(body.filters) if "filters" in given else None
    metric = parse_metric(body.metric) if "metric" in given and body.metric is not None else None
    current = await get_meter(session, meter_id)
    checked = None
    if given & {"stripe_price_id", "stripe_product_id", "charge_by"}:
        # Stripe is asked before taking the meters lock, so a slow Stripe never holds up ingest.
        checked = await check_price(
            gateway,
            settings.stripe_api_version,
            price_id=body.stripe_price_id or current.stripe_price_id,
            product_id=body.stripe_product_id if "stripe_product_id" in given else None,
            charge_by=body.charge_by if "charge_by" in given else None,
        )
    await lock_meters_exclusive(session)
    meter = await get_meter(session, meter_id, for_update=True)
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
    if body.active is not None and body.active != meter.active:
        meter.active = body.active
        # Inactive meters do not count; turning one back on fills the gap from the raw events.
        needs_rebuild = needs_rebuild or body.active
    if needs_rebuild:
        meter.version += 1
        meter.updated_at = utcnow()
        await session.flush()
        if meter.active:
            await rebuild_rollups(session, metering, meter)
    return await _stored(session, meter)


async def delete_meter(session: AsyncSession, meter_id: str) -> None:
    await lock_meters_exclusive(session)
    meter = await get_meter(session, meter_id, for_update=True)
    await session.delete(meter)  # rollups go with it (ON DELETE CASCADE)


async def rebuild_rollups(
    session: AsyncSession, metering: MeteringSettings, meter: Meter, *, now: datetime | None = None
) -> int:
    """Recompute a meter's rollups from raw events of the last USAGE_REBUILD_DAYS, in bounded batches.

    Older rollups are kept as they were (those periods were billed with the old definition). Runs inside
    the caller's transaction, under the exclusive meters lock, so ingest batches never interleave with it.
    Returns the number of events scanned.
    """
    now = now or utcnow()
    since = hour_of(now - timedelta(days=metering.usage_rebuild_days))
    store = store_for(session)
    await store.delete_rollups(meter.id, since)
    compiled = compile_meter(meter)
    scanned = 0
    async for rows in store.scan_events(since, metering.usage_rebuild_batch_size):
        batch = RollupBatch()
        for row in rows:
            batch.add([compiled], row.user_id, row.occurred_at, view_from_row(row))
        await store.add_rollups(batch)
        scanned += len(rows)
    meter.rebuilt_at = now
    meter.rebuilt_from = since
    return scanned


async def _stored(session: AsyncSession, meter: Meter) -> Meter:
    """The meter as it will be committed (onupdate timestamps included), for the response."""
    await session.flush()
    await session.refresh(meter)
    return meter


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
