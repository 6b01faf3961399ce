"""Ledger operations of a run: claiming rows to send, recording outcomes, expiring stale ones, measuring lag.

A row is claimed (status `sending`, this run's id) in a committed transaction before its Stripe call, and its
outcome is recorded after. A row left in `sending` by a run that died (cancelled, killed, crashed) is
claimable again once that run is no longer alive: marked finished, or silent past the stale-run timeout.
Claims are single UPDATE statements guarded by the row's status, so two runs never send the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from portal_api.accounts.system_users import SYSTEM_USER_IDS
from portal_api.reporting.models import ReportRun, ReportStatus, UsageReport


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    subscription_item_id: str
    meter_id: str
    hour: datetime
    stripe_subscription_id: str
    kind: str
    path: str
    params: str
    idempotency_key: str
    attempts: int


def _alive_runs(now: datetime, stale_after: timedelta) -> Any:
    return select(ReportRun.id).where(
        ReportRun.status == "running", ReportRun.heartbeat_at >= now - stale_after
    )


def _earlier_set_unfinished() -> Any:
    """A `set` must not overtake an earlier revision of its hour still on its way: Stripe keeps the value
    written last, so revisions of one hour go out in order (increments add up in any order)."""
    earlier = aliased(UsageReport)
    return exists().where(
        earlier.subscription_item_id == UsageReport.subscription_item_id,
        earlier.meter_id == UsageReport.meter_id,
        earlier.hour == UsageReport.hour,
        earlier.revision < UsageReport.revision,
        earlier.status.in_(ReportStatus.UNFINISHED),
    )


def claimable(run_id: str, now: datetime, stale_after: timedelta) -> Any:
    due = or_(
        UsageReport.status == ReportStatus.PENDING,
        and_(
            UsageReport.status == ReportStatus.FAILED,
            or_(UsageReport.run_id.is_(None), UsageReport.run_id != run_id),
        ),
        and_(
            UsageReport.status == ReportStatus.SENDING,
            or_(UsageReport.run_id.is_(None), UsageReport.run_id.not_in(_alive_runs(now, stale_after))),
        ),
    )
    in_order = or_(UsageReport.action != "set", UsageReport.revision == 0, ~_earlier_set_unfinished())
    return and_(due, in_order)


def _scope(query: Any, subscription_item_ids: Sequence[str] | None) -> Any:
    """The run's rows: those of the items it names, else everyone's but the system users' (the Meter Test
    sends its own customer's rows itself, and in live mode they could not be sent at all)."""
    if subscription_item_ids is not None:
        return query.where(UsageReport.subscription_item_id.in_(list(subscription_item_ids)))
    return query.where(UsageReport.user_id.not_in(sorted(SYSTEM_USER_IDS)))


async def expire_unconfirmed(
    session: AsyncSession,
    run_id: str,
    now: datetime,
    *,
    retention: timedelta,
    stale_after: timedelta,
    subscription_item_ids: Sequence[str] | None = None,
) -> int:
    """Rows attempted longer ago than Stripe keeps idempotency keys: re-sending could count twice."""
    query = (
        update(UsageReport)
        .where(
            claimable(run_id, now, stale_after),
            UsageReport.status != ReportStatus.PENDING,
            UsageReport.first_attempt_at < now - retention,
        )
        .values(
            status=ReportStatus.EXPIRED,
            last_error="attempted but not confirmed within Stripe's idempotency window; "
            "check Stripe's usage for this hour before re-sending",
        )
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(_scope(query, subscription_item_ids))
    return int(getattr(result, "rowcount", 0) or 0)


async def count_claimable(
    session: AsyncSession,
    run_id: str,
    now: datetime,
    *,
    stale_after: timedelta,
    subscription_item_ids: Sequence[str] | None = None,
) -> int:
    query = select(func.count()).select_from(UsageReport).where(claimable(run_id, now, stale_after))
    return int(await session.scalar(_scope(query, subscription_item_ids)) or 0)


async def claim(
    session: AsyncSession,
    run_id: str,
    now: datetime,
    *,
    limit: int,
    stale_after: timedelta,
    subscription_item_ids: Sequence[str] | None = None,
) -> list[ClaimedRow]:
    """Mark up to `limit` claimable rows as this run's `sending` rows and return them, oldest first."""
    condition = claimable(run_id, now, stale_after)
    ids = list(
        await session.scalars(
            _scope(select(UsageReport.id).where(condition), subscription_item_ids)
            .order_by(UsageReport.id)
            .limit(limit)
        )
    )
    if not ids:
        return []
    result = await session.execute(
        update(UsageReport)
        .where(UsageReport.id.in_(ids), condition)
        .values(
            status=ReportStatus.SENDING,
            run_id=run_id,
            attempts=UsageReport.attempts + 1,
            last_attempt_at=now,
            first_attempt_at=func.coalesce(UsageReport.first_attempt_at, now),
        )
        .returning(
            UsageReport.id,
            UsageReport.subscription_item_id,
            UsageReport.meter_id,
            UsageReport.hour,
            UsageReport.stripe_subscription_id,
            UsageReport.kind,
            UsageReport.path,
            UsageReport.params,
            UsageReport.idempotency_key,
            UsageReport.attempts,
        )
        .execution_options(synchronize_session=False)
    )
    rows = [ClaimedRow(*tuple(row)) for row in result.all()]
    return sorted(rows, key=lambda r: r.id)


async def record_outcomes(session: AsyncSession, updates: Sequence[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key; every dict has the same keys (id, status, attempts, ...)."""
    if updates:
        await session.execute(update(UsageReport), list(updates))


async def oldest_unconfirmed_hour(session: AsyncSession) -> datetime | None:
    """The oldest hour with a report still to be confirmed by Stripe (expired ones need a person: they
    are listed in the run's errors instead of holding the lag up forever). Real customers' only."""
    return await session.scalar(
        select(func.min(UsageReport.hour)).where(
            UsageReport.status.in_(ReportStatus.UNFINISHED),
            UsageReport.user_id.not_in(sorted(SYSTEM_USER_IDS)),
        )
    )


async def mark_dead_runs(session: AsyncSession, now: datetime, stale_after: timedelta) -> int:
    """Runs still `running` without a heartbeat for too long died with their process: say so."""
    result = await session.execute(
        update(ReportRun)
        .where(ReportRun.status == "running", ReportRun.heartbeat_at < now - stale_after)
        .values(status="interrupted", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
