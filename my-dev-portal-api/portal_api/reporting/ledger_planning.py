"""Planning's ledger writes: insert a plan's rows, upsert its reported hours, restore hours Stripe refused.

The sending side (claiming rows, recording outcomes) is in ledger.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.db import utcnow
from portal_api.reporting.models import ReportedHour, ReportStatus, UsageReport
from portal_api.reporting.report_plan import Head, HourKey, LedgerEntry, Plan
from portal_api.reporting.stripe_usage_params import stripe_request

HEAD_CHUNK = 1_000
ROW_CHUNK = 500


def ledger_row(entry: LedgerEntry, run_id: str, now: datetime) -> dict[str, Any]:
    """The `usage_reports` row of an entry, carrying its exact Stripe request."""
    request = stripe_request(entry)
    return {
        "subscription_item_id": entry.subscription_item_id,
        "meter_id": entry.meter_id,
        "hour": entry.hour,
        "revision": entry.revision,
        "user_id": entry.user_id,
        "stripe_customer_id": entry.stripe_customer_id,
        "stripe_subscription_id": entry.stripe_subscription_id,
        "kind": entry.kind,
        "action": entry.action or "",
        "quantity_milli": entry.quantity_milli,
        "target_milli": entry.target_milli,
        "value_milli": entry.value_milli,
        "report_timestamp": entry.report_timestamp,
        "carried": entry.carried,
        "path": request.path,
        "params": request.params_json,
        "idempotency_key": request.idempotency_key,
        "status": ReportStatus.SKIPPED if entry.skipped else ReportStatus.PENDING,
        "attempts": 0,
        "last_error": entry.skip_reason,
        "run_id": run_id,
        "created_at": now,
    }


def reported_hour_row(key: HourKey, head: Head, now: datetime) -> dict[str, Any]:
    item_id, meter_id, hour = key
    return {
        "subscription_item_id": item_id,
        "meter_id": meter_id,
        "hour": hour,
        "revision": head.revision,
        "value_milli": head.value_milli,
        "target_milli": head.target_milli,
        "updated_at": now,
    }


async def write_plan(session: AsyncSession, plan: Plan) -> None:
    """Insert the plan's ledger rows and upsert its reported hours (in the caller's transaction)."""
    now = utcnow()
    rows = [ledger_row(entry, plan.run_id, now) for entry in plan.entries]
    table = cast(Table, UsageReport.__table__)
    for start in range(0, len(rows), ROW_CHUNK):
        await session.execute(insert(table), rows[start : start + ROW_CHUNK])
    heads = [reported_hour_row(key, head, now) for key, head in plan.heads.items()]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    head_table = cast(Table, ReportedHour.__table__)
    for start in range(0, len(heads), HEAD_CHUNK):
        stmt = make_insert(head_table).values(heads[start : start + HEAD_CHUNK])
        stmt = stmt.on_conflict_do_update(
            index_elements=["subscription_item_id", "meter_id", "hour"],
            set_={
                "revision": stmt.excluded.revision,
                "value_milli": stmt.excluded.value_milli,
                "target_milli": stmt.excluded.target_milli,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        await session.execute(stmt)


async def restore_heads(session: AsyncSession, keys: Iterable[tuple[str, str, datetime]]) -> None:
    """After Stripe refused reports for good: make each hour's state what the remaining rows add up to.

    The highest revision number stays used (its idempotency key must never be reused with other params);
    value and target fall back to the last effective revision, so the next run plans the hour again.
    """
    for item_id, meter_id, hour in keys:
        rows = (
            await session.execute(
                select(
                    UsageReport.revision,
                    UsageReport.status,
                    UsageReport.action,
                    UsageReport.target_milli,
                    UsageReport.value_milli,
                )
                .where(
                    UsageReport.subscription_item_id == item_id,
                    UsageReport.meter_id == meter_id,
                    UsageReport.hour == hour,
                )
                .order_by(UsageReport.revision)
            )
        ).all()
        if not rows:
            continue
        head = await session.get(ReportedHour, (item_id, meter_id, hour))
        if head is None:
            continue
        target, value = 0, -1  # value -1 matches no rollup: the next run plans the hour again
        for _, status, _, row_target, row_value in rows:
            if status in ReportStatus.EFFECTIVE:
                target, value = row_target, row_value
            elif status == ReportStatus.SKIPPED:
                value = row_value
            else:  # rejected: Stripe does not have it
                value = -1
        head.revision = max(r[0] for r in rows)
        head.target_milli = target
        head.value_milli = value
        head.updated_at = utcnow()
