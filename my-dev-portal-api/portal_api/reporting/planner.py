"""The planner: compare rollups with what Stripe holds per hour; write the ledger rows that close the gap.

For every target (subscription item x meter) and closed hour, the planner computes the hour's *target*: the
value Stripe should hold for it. `usage_reported_hours` keeps the target already reported (or in flight);
when they differ, a new revision row goes into the ledger. One SQL join of rollups against reported hours
finds the hours that are new or changed (late usage) over the lookback window, so a run touches only those.

Per charge-by mode (legacy usage records before 2025-03-31.basil / Billing Meters from it on):

- sum_during_period: `increment` by the difference between the new target and the old one (the first
  revision sends the whole hour; a correction sends the late delta). Usage records take whole units, so
  each hour's total is rounded half up; meter events carry the exact value (thousandths). A Billing Meter
  with formula `sum` adds the events up. Unique metrics report the number of values first seen in the
  period during each hour, so the sum is the period's distinct count.
- last_during_period: `set` each hour's value (usage records: one record per hour timestamp, the latest in
  the period is billed; meter formula `last`: the event with the latest timestamp). A correction re-sends
  the hour's value at the same timestamp, which replaces (record) or supersedes (event) the earlier one.
- max_during_period: usage records `set` each hour's value and Stripe bills the largest (aggregate_usage
  max). Billing Meters have no max: each hour sends the running maximum of the period so far to a `last`
  meter, so the latest event carries the period's maximum.
- last_ever: Stripe's legacy `last_ever` bills the latest record ever; a meter only looks inside the period.
  Both get one report at the period's first hour carrying the latest value up to that hour (the previous
  period's last value when the new period has no usage yet), then each hour's value.

Timestamps and periods: a record is stamped with its hour's start, or the period start when the hour began
before it. The hour that straddles a period start is only complete after Stripe has closed the previous
period, so it is billed in the new period; with hour-aligned periods, an hour belongs to the period that
contains its start. Usage found for an hour of a period Stripe has already closed (a late event, a long
outage) can no longer change that invoice: for sum it is carried into the current period (stamped at the
period start, so totals over time stay exact); for last/max it is skipped (recorded as such); for last_ever
it flows into the carried value.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import Table, and_, exists, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing.models import Subscription, SubscriptionItem
from portal_api.db import utcnow
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.metering.models import Meter, UsageRollup
from portal_api.metering.rollups import HOUR
from portal_api.metering.store import store_for
from portal_api.reporting.models import ReportedHour, ReportStatus, UsageReport
from portal_api.reporting.targets import REPORTABLE_STATUSES, PriceRoute, Target

Action = Literal["increment", "set"]
PairKey = tuple[str, str]  # (subscription item, meter)
MILLI = 1000
# Stripe limits meter event identifiers to 100 characters.
MAX_IDENTIFIER = 100
HEAD_CHUNK = 1_000
ROW_CHUNK = 500
SUBSET_FILTER_LIMIT = 500


@dataclass(frozen=True)
class Head:
    revision: int  # -1: known hour, nothing sent yet
    value_milli: int
    target_milli: int


@dataclass
class Plan:
    rows: list[dict[str, Any]] = field(default_factory=list)
    heads: dict[tuple[str, str, datetime], dict[str, Any]] = field(default_factory=dict)
    corrections: int = 0
    skipped: int = 0
    deferred: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def to_send(self) -> int:
        return sum(1 for r in self.rows if r["status"] == ReportStatus.PENDING)


def whole_units(value_milli: int) -> int:
    """Rounded half up to a whole unit, still in thousandths (usage records take integers)."""
    if value_milli >= 0:
        return (value_milli + MILLI // 2) // MILLI * MILLI
    return -((-value_milli + MILLI // 2) // MILLI * MILLI)


def decimal_text(value_milli: int) -> str:
    """Thousandths as a plain decimal string ("12", "0.5", "-3.25")."""
    return format((Decimal(value_milli) / MILLI).normalize(), "f")


def idempotency_key(subscription_item_id: str, meter_id: str, hour: datetime, revision: int) -> str:
    return f"usage:{subscription_item_id}:{meter_id}:{hour:%Y%m%dT%H}:{revision}"


def meter_event_identifier(key: str) -> str:
    if len(key) <= MAX_IDENTIFIER:
        return key
    return "usage:" + hashlib.sha256(key.encode()).hexdigest()[:64]


def is_period_mode(target: Target, route: PriceRoute) -> bool:
    """Modes whose hourly value depends on other hours of the period (see the module docstring)."""
    if target.charge_by is ChargeBy.LAST_EVER:
        return True
    if target.charge_by is ChargeBy.MAX and route.kind == "meter_event":
        return True
    return target.charge_by is ChargeBy.SUM and target.unique_metric


def local_action(target: Target) -> Action:
    return "increment" if target.charge_by is ChargeBy.SUM else "set"


def scale(route: PriceRoute, value_milli: int) -> int:
    return whole_units(value_milli) if route.kind == "usage_record" else value_milli


class Planner:
    """Plans one run: which ledger rows to add and which reported hours to update."""

    def __init__(
        self,
        session: AsyncSession,
        targets: Sequence[Target],
        routes: dict[str, PriceRoute],
        *,
        since: datetime,
        until: datetime,
        run_id: str,
        subset: bool = False,
    ) -> None:
        self.session = session
        self.since = since
        self.until = until
        self.run_id = run_id
        self.subset = subset
        self.routes = routes
        self.targets: dict[PairKey, Target] = {}
        self.plan = Plan()
        for target in targets:
            route = routes.get(target.price_id)
            if route is None or route.kind is None:
                problem = route.problem if route else "price not looked up"
                self.plan.errors.append(
                    {
                        "subscription_item_id": target.subscription_item_id,
                        "meter_id": target.meter_id,
                        "error": problem,
                    }
                )
                continue
            self.targets[target.key] = target

    # -- finding work ---------------------------------------------------------------------------------

    async def run(self) -> Plan:
        changed = await self._changed_hours()
        flagged_period_pairs: set[PairKey] = set()
        for pair, hours in changed.items():
            target = self.targets[pair]
            route = self.routes[target.price_id]
            if is_period_mode(target, route):
                flagged_period_pairs.add(pair)
                continue
            action = local_action(target)
            for hour, (value, head) in sorted(hours.items()):
                self._decide(target, route, hour, value, head, scale(route, value), action)
        flagged_period_pairs |= await self._missing_carries()
        for pair in sorted(flagged_period_pairs):
            await self._replan_pair(self.targets[pair], changed.get(pair, {}))
        return self.plan

    def _subset_filter(self, column: Any) -> Any:
        if self.subset and len(self.targets) <= SUBSET_FILTER_LIMIT:
            return column.in_(sorted({t.subscription_item_id for t in self.targets.values()}))
        return None

    async def _changed_hours(self) -> dict[PairKey, dict[datetime, tuple[int, Head | None]]]:
        """Hours whose rollup differs from what was reported (new hours, late usage, vanished usage)."""
        r = UsageRollup.__table__.c
        h = ReportedHour.__table__.c
        joined = (
            UsageRollup.__table__.join(Meter, Meter.id == r.meter_id)
            .join(Subscription, Subscription.user_id == r.user_id)
            .join(
                SubscriptionItem,
                and_(
                    SubscriptionItem.subscription_id == Subscription.id,
                    # `|| ''` keeps SQLite from driving the join by the price index (every item of a
                    # popular price) instead of user -> subscription -> item.
                    SubscriptionItem.price_id.concat("") == Meter.stripe_price_id,
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
                r.hour >= self.since,
                r.hour < self.until,
                or_(h.value_milli.is_(None), h.value_milli != r.value_milli),
            )
        )
        subset = self._subset_filter(SubscriptionItem.stripe_item_id)
        if subset is not None:
            query = query.where(subset)
        found: dict[PairKey, dict[datetime, tuple[int, Head | None]]] = defaultdict(dict)
        for item_id, meter_id, hour, value, revision, head_value, head_target in (
            await self.session.execute(query)
        ).all():
            if (item_id, meter_id) not in self.targets:
                continue
            head = Head(revision, head_value, head_target) if revision is not None else None
            found[(item_id, meter_id)][_aware(hour)] = (int(value), head)

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
            .where(h.hour >= self.since, h.hour < self.until, h.value_milli != 0, ~rollup_exists)
        )
        subset = self._subset_filter(h.subscription_item_id)
        if subset is not None:
            vanished = vanished.where(subset)
        for item_id, meter_id, hour, revision, head_value, head_target in (
            await self.session.execute(vanished)
        ).all():
            if (item_id, meter_id) in self.targets:
                found[(item_id, meter_id)][_aware(hour)] = (0, Head(revision, head_value, head_target))
        return found

    async def _missing_carries(self) -> set[PairKey]:
        """last_ever targets whose period-start report was never planned (a new period, a first run)."""
        wanted = {
            pair: t
            for pair, t in self.targets.items()
            if t.charge_by is ChargeBy.LAST_EVER and t.first_hour < self.until
        }
        if not wanted:
            return set()
        h = ReportedHour.__table__.c
        keys = [(t.subscription_item_id, t.meter_id, t.first_hour) for t in wanted.values()]
        have: set[tuple[str, str, datetime]] = set()
        for start in range(0, len(keys), HEAD_CHUNK):
            chunk = keys[start : start + HEAD_CHUNK]
            query = select(h.subscription_item_id, h.meter_id, h.hour).where(
                h.subscription_item_id.in_(sorted({k[0] for k in chunk})),
                h.hour.in_(sorted({k[2] for k in chunk})),
            )
            for item_id, meter_id, hour in (await self.session.execute(query)).all():
                have.add((item_id, meter_id, _aware(hour)))
        return {
            pair
            for pair, t in wanted.items()
            if (t.subscription_item_id, t.meter_id, t.first_hour) not in have
        }

    # -- whole-period modes ---------------------------------------------------------------------------

    async def _replan_pair(self, target: Target, changed: dict[datetime, tuple[int, Head | None]]) -> None:
        route = self.routes[target.price_id]
        first = target.first_hour
        low = min(self.since, first)
        store = store_for(self.session)
        rollups = {
            _aware(r.hour): r.value_milli
            for r in await store.hourly(target.meter_id, target.user_id, low, self.until)
        }
        heads = await self._heads(target, low, self.until)
        for hour, (value, head) in changed.items():  # vanished hours are not in `rollups`
            rollups.setdefault(hour, value)
            if head is not None:
                heads.setdefault(hour, head)

        # Hours of periods Stripe has closed: nothing can be sent for them any more (see module docstring).
        for hour in sorted(h for h in set(rollups) | set(heads) if h < first):
            value = rollups.get(hour, 0)
            head = heads.get(hour)
            if head is None or head.value_milli != value:
                self._skip(
                    target,
                    hour,
                    value,
                    head,
                    "closed period: already invoiced"
                    + (
                        "; its value is carried by the period-start report"
                        if target.charge_by is ChargeBy.LAST_EVER
                        else ""
                    ),
                )

        desired: dict[datetime, tuple[int, Action]] = {}
        current = sorted(h for h in rollups if first <= h < self.until)
        if target.charge_by is ChargeBy.SUM:  # a unique metric: values first seen in the period per hour
            firsts = dict(
                (_aware(hour), count * MILLI)
                for hour, count in await store.first_seen_per_hour(
                    target.meter_id, target.user_id, first, self.until
                )
            )
            for hour in sorted(set(current) | {h for h in heads if h >= first}):
                desired[hour] = (scale(route, firsts.get(hour, 0)), "increment")
        elif target.charge_by is ChargeBy.MAX:  # Billing Meter `last` fed the running maximum
            running: int | None = None
            for hour in current:
                running = rollups[hour] if running is None else max(running, rollups[hour])
                desired[hour] = (running, "set")
        else:  # last_ever
            for hour in current:
                desired[hour] = (scale(route, rollups[hour]), "set")
            if first < self.until and first not in rollups:
                carried = await store.last_before(target.meter_id, target.user_id, first)
                if carried is not None:
                    desired[first] = (scale(route, carried.value_milli), "set")
        for hour, (wanted, action) in sorted(desired.items()):
            self._decide(
                target, route, hour, rollups.get(hour, 0), heads.get(hour), wanted, action, allow_closed=True
            )

    async def _heads(self, target: Target, start: datetime, end: datetime) -> dict[datetime, Head]:
        h = ReportedHour.__table__.c
        rows = await self.session.execute(
            select(h.hour, h.revision, h.value_milli, h.target_milli).where(
                h.subscription_item_id == target.subscription_item_id,
                h.meter_id == target.meter_id,
                h.hour >= start,
                h.hour < end,
            )
        )
        return {_aware(hour): Head(rev, value, tgt) for hour, rev, value, tgt in rows.all()}

    # -- one hour -------------------------------------------------------------------------------------

    def _decide(
        self,
        target: Target,
        route: PriceRoute,
        hour: datetime,
        value_milli: int,
        head: Head | None,
        wanted_milli: int,
        action: Action,
        *,
        allow_closed: bool = False,
    ) -> None:
        if hour + HOUR <= target.billable_from:
            return  # before the subscription started
        if hour >= target.period_end:
            self.plan.deferred += 1  # our period mirror is behind Stripe; the next run plans it
            return
        old_target = head.target_milli if head is not None else 0
        if head is not None and head.target_milli == wanted_milli:
            if head.value_milli != value_milli:
                self._set_head(target, hour, head.revision, value_milli, head.target_milli)
            return
        if head is None and action == "increment" and wanted_milli == 0:
            self._set_head(target, hour, -1, value_milli, 0)
            return
        closed = not target.in_current_period(hour)
        if action == "increment" and wanted_milli < old_target:
            self._skip(
                target,
                hour,
                value_milli,
                head,
                "usage decreased after it was reported (meter rebuilt?); Stripe cannot be decremented",
            )
            return
        if action == "set" and closed and not allow_closed:
            self._skip(target, hour, value_milli, head, "closed period: already invoiced")
            return
        quantity = wanted_milli - old_target if action == "increment" else wanted_milli
        self._add_row(target, route, hour, value_milli, head, wanted_milli, quantity, action, carried=closed)

    def _set_head(self, target: Target, hour: datetime, revision: int, value: int, wanted: int) -> None:
        self.plan.heads[(target.subscription_item_id, target.meter_id, hour)] = {
            "subscription_item_id": target.subscription_item_id,
            "meter_id": target.meter_id,
            "hour": hour,
            "revision": revision,
            "value_milli": value,
            "target_milli": wanted,
            "updated_at": utcnow(),
        }

    def _skip(self, target: Target, hour: datetime, value: int, head: Head | None, reason: str) -> None:
        revision = head.revision + 1 if head is not None else 0
        old_target = head.target_milli if head is not None else 0
        key = idempotency_key(target.subscription_item_id, target.meter_id, hour, revision)
        self.plan.rows.append(
            self._row(
                target,
                hour,
                revision,
                key,
                "skipped",
                "",
                {},
                0,
                old_target,
                value,
                0,
                False,
                status=ReportStatus.SKIPPED,
                error=reason,
            )
        )
        self.plan.skipped += 1
        self._set_head(target, hour, revision, value, old_target)

    def _add_row(
        self,
        target: Target,
        route: PriceRoute,
        hour: datetime,
        value: int,
        head: Head | None,
        wanted: int,
        quantity: int,
        action: Action,
        *,
        carried: bool,
    ) -> None:
        revision = head.revision + 1 if head is not None else 0
        key = idempotency_key(target.subscription_item_id, target.meter_id, hour, revision)
        timestamp = target.timestamp_for(hour)
        if route.kind == "usage_record":
            path = f"/v1/subscription_items/{target.subscription_item_id}/usage_records"
            params: dict[str, Any] = {"quantity": quantity // MILLI, "timestamp": timestamp, "action": action}
        else:
            path = "/v1/billing/meter_events"
            params = {
                "event_name": route.event_name,
                "payload": {
                    route.customer_key: target.stripe_customer_id,
                    route.value_key: decimal_text(quantity),
                },
                "identifier": meter_event_identifier(key),
                "timestamp": timestamp,
            }
        self.plan.rows.append(
            self._row(
                target,
                hour,
                revision,
                key,
                route.kind or "",
                path,
                params,
                quantity,
                wanted,
                value,
                timestamp,
                carried,
                action=action,
            )
        )
        if head is not None and head.revision >= 0:
            self.plan.corrections += 1
        self._set_head(target, hour, revision, value, wanted)

    def _row(
        self,
        target: Target,
        hour: datetime,
        revision: int,
        key: str,
        kind: str,
        path: str,
        params: dict[str, Any],
        quantity: int,
        wanted: int,
        value: int,
        timestamp: int,
        carried: bool,
        *,
        action: str = "",
        status: str = ReportStatus.PENDING,
        error: str | None = None,
    ) -> dict[str, Any]:
        return {
            "subscription_item_id": target.subscription_item_id,
            "meter_id": target.meter_id,
            "hour": hour,
            "revision": revision,
            "user_id": target.user_id,
            "stripe_customer_id": target.stripe_customer_id,
            "stripe_subscription_id": target.stripe_subscription_id,
            "kind": kind,
            "action": action,
            "quantity_milli": quantity,
            "target_milli": wanted,
            "value_milli": value,
            "report_timestamp": timestamp,
            "carried": carried,
            "path": path,
            "params": json.dumps(params, separators=(",", ":"), sort_keys=True),
            "idempotency_key": key,
            "status": status,
            "attempts": 0,
            "last_error": error,
            "run_id": self.run_id,
            "created_at": utcnow(),
        }


async def write_plan(session: AsyncSession, plan: Plan) -> None:
    """Insert the plan's ledger rows and upsert its reported hours (in the caller's transaction)."""
    table = cast(Table, UsageReport.__table__)
    for start in range(0, len(plan.rows), ROW_CHUNK):
        await session.execute(insert(table), plan.rows[start : start + ROW_CHUNK])
    heads = list(plan.heads.values())
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


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = [
    "Head",
    "Plan",
    "Planner",
    "decimal_text",
    "idempotency_key",
    "restore_heads",
    "whole_units",
    "write_plan",
]
