"""Meters and their rollups: the lock ingest and meter changes share, active compiled meters, rebuilds."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.metering.events import view_from_row
from portal_api.metering.models import Meter
from portal_api.metering.rollups import CompiledMeter, RollupBatch, compile_meter, hour_of
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


async def rebuild_rollups(
    session: AsyncSession, settings: Settings, meter: Meter, *, now: datetime | None = None
) -> int:
    """Recompute a meter's rollups from raw events of the last USAGE_REBUILD_DAYS, in bounded batches.

    Older rollups are kept as they were (those periods were billed with the old definition). Runs inside
    the caller's transaction, under the exclusive meters lock, so ingest batches never interleave with it.
    Returns the number of events scanned.
    """
    now = now or utcnow()
    since = hour_of(now - timedelta(days=settings.usage_rebuild_days))
    store = store_for(session)
    await store.delete_rollups(meter.id, since)
    compiled = compile_meter(meter)
    scanned = 0
    async for rows in store.scan_events(since, settings.usage_rebuild_batch_size):
        batch = RollupBatch()
        for row in rows:
            batch.add([compiled], row.user_id, row.occurred_at, view_from_row(row))
        await store.add_rollups(batch)
        scanned += len(rows)
    meter.rebuilt_at = now
    meter.rebuilt_from = since
    return scanned
