"""The planner's reads: hours whose rollups differ from what was reported, missing carries, a pair's history.

One SQL join of rollups against `usage_reported_hours` finds the hours that are new or changed (late usage)
over the lookback window, so a run touches only those; a second finds reported hours whose rollup is gone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing.models import Subscription, SubscriptionItem, SubscriptionItemPrice
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.metering.models import Meter, UsageRollup
from portal_api.metering.store import store_for
from portal_api.reporting.models import ReportedHour
from portal_api.reporting.report_plan import MILLI, Head, PairKey
from portal_api.reporting.targets import REPORTABLE_STATUSES, Target

# Per pair: hour -> (the rollup value now, what was reported for it; None: never).
ChangedHours = dict[PairKey, dict[datetime, tuple[int, Head | None]]]
KEY_CHUNK = 1_000
SUBSET_FILTER_LIMIT = 500


def _subset_filter(column: Any, targets: Mapping[PairKey, Target], subset: bool) -> Any:
    if subset and len(targets) <= SUBSET_FILTER_LIMIT:
        return column.in_(sorted({t.subscription_item_id for t in targets.values()}))
    return None


async def changed_hours(
    session: AsyncSession,
    targets: Mapping[PairKey, Target],
    *,
    since: datetime,
    until: datetime,
    subset: bool,
) -> ChangedHours:
    """Hours whose rollup differs from what was reported (new hours, late usage, vanished usage).

    Pairs come from each item's price history (a price the item had earlier in the period still reports
    its hours then, see targets.py); which hours are a pair's is decided by its Target (`covers`)."""
    r = UsageRollup.__table__.c
    h = ReportedHour.__table__.c
    p = SubscriptionItemPrice.__table__.c
    joined = (
        UsageRollup.__table__.join(Meter, Meter.id == r.meter_id)
        .join(Subscription, Subscription.user_id == r.user_id)
        .join(SubscriptionItem, SubscriptionItem.subscription_id == Subscription.id)
        .join(
            SubscriptionItemPrice.__table__,
            and_(
                p.subscription_item_id == SubscriptionItem.id,
                # `|| ''` keeps the join driven by user -> subscription -> item -> its prices, never by
                # the price (every item of a popular price).
                p.price_id.concat("") == Meter.stripe_price_id,
                or_(p.until.is_(None), p.until > since),
            ),
        )
        .outerjoin(
            ReportedHour.__table__,
            and_(
                h.subscription_item_id == SubscriptionItem.stripe_item_id,
                h.meter_id == r.meter_id,
                h.hour == r.hour,
            ),
        )
    )
    query = (
        select(
            SubscriptionItem.stripe_item_id,
            r.meter_id,
            r.hour,
            r.value_milli,
            h.revision,
            h.value_milli,
            h.target_milli,
        )
        .select_from(joined)
        .where(
            Meter.active.is_(True),
            Subscription.status.in_(REPORTABLE_STATUSES),
            r.hour >= since,
            r.hour < until,
            or_(h.value_milli.is_(None), h.value_milli != r.value_milli),
        )
    )
    subset_filter = _subset_filter(SubscriptionItem.stripe_item_id, targets, subset)
    if subset_filter is not None:
        query = query.where(subset_filter)
    found: ChangedHours = defaultdict(dict)
    for item_id, meter_id, hour, value, revision, head_value, head_target in (
        await session.execute(query)
    ).all():
        if (item_id, meter_id) not in targets:
            continue
        head = Head(revision, head_value, head_target) if revision is not None else None
        found[(item_id, meter_id)][aware(hour)] = (int(value), head)

    # Reported hours whose rollup is gone (a meter rebuilt with other filters): the value is now 0.
    rollup_exists = exists().where(
        r.meter_id == h.meter_id, r.user_id == Subscription.user_id, r.hour == h.hour
    )
    vanished = (
        select(h.subscription_item_id, h.meter_id, h.hour, h.revision, h.value_milli, h.target_milli)
        .select_from(
            ReportedHour.__table__.join(
                SubscriptionItem, SubscriptionItem.stripe_item_id == h.subscription_item_id
            ).join(Subscription, Subscription.id == SubscriptionItem.subscription_id)
        )
        .where(h.hour >= since, h.hour < until, h.value_milli != 0, ~rollup_exists)
    )
    subset_filter = _subset_filter(h.subscription_item_id, targets, subset)
    if subset_filter is not None:
        vanished = vanished.where(subset_filter)
    for item_id, meter_id, hour, revision, head_value, head_target in (await session.execute(vanished)).all():
        if (item_id, meter_id) in targets:
            found[(item_id, meter_id)][aware(hour)] = (0, Head(revision, head_value, head_target))
    return found


async def missing_carries(
    session: AsyncSession, targets: Mapping[PairKey, Target], *, until: datetime
) -> set[PairKey]:
    """last_ever targets whose period-start report was never planned (a new period, a first run)."""
    wanted = {
        pair: t for pair, t in targets.items() if t.charge_by is ChargeBy.LAST_EVER and t.first_hour < until
    }
    if not wanted:
        return set()
    h = ReportedHour.__table__.c
    keys = [(t.subscription_item_id, t.meter_id, t.first_hour) for t in wanted.values()]
    have: set[tuple[str, str, datetime]] = set()
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        query = select(h.subscription_item_id, h.meter_id, h.hour).where(
            h.subscription_item_id.in_(sorted({k[0] for k in chunk})),
            h.hour.in_(sorted({k[2] for k in chunk})),
        )
        for item_id, meter_id, hour in (await session.execute(query)).all():
            have.add((item_id, meter_id, aware(hour)))
    return {
        pair for pair, t in wanted.items() if (t.subscription_item_id, t.meter_id, t.first_hour) not in have
    }


async def reported_heads(
    session: AsyncSession, target: Target, start: datetime, end: datetime
) -> dict[datetime, Head]:
    """What was reported for the pair's hours in [start, end)."""
    h = ReportedHour.__table__.c
    rows = await session.execute(
        select(h.hour, h.revision, h.value_milli, h.target_milli).where(
            h.subscription_item_id == target.subscription_item_id,
            h.meter_id == target.meter_id,
            h.hour >= start,
            h.hour < end,
        )
    )
    return {aware(hour): Head(rev, value, tgt) for hour, rev, value, tgt in rows.all()}


async def period_rollups(
    session: AsyncSession, target: Target, start: datetime, end: datetime
) -> dict[datetime, int]:
    """The pair's rollup values for hours in [start, end)."""
    rollups = await store_for(session).hourly(target.meter_id, target.user_id, start, end)
    return {aware(r.hour): r.value_milli for r in rollups}


async def first_seen_milli(
    session: AsyncSession, target: Target, start: datetime, end: datetime
) -> dict[datetime, int]:
    """A unique metric: per hour, the number of values first seen in [start, end), in thousandths."""
    counts = await store_for(session).first_seen_per_hour(target.meter_id, target.user_id, start, end)
    return {aware(hour): count * MILLI for hour, count in counts}


async def carried_value(session: AsyncSession, target: Target, before: datetime) -> int | None:
    """The latest rollup value before `before` (last_ever's carried value)."""
    latest = await store_for(session).last_before(target.meter_id, target.user_id, before)
    return latest.value_milli if latest is not None else None


def aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
