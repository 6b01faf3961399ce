"""The planner: compare rollups with what Stripe holds per hour; plan the ledger entries that close the gap.

For every target (subscription item x meter) and closed hour, the planner computes the hour's *target*: the
value Stripe should hold for it. `usage_reported_hours` keeps the target already reported (or in flight);
when they differ, a new revision goes into the ledger. The reads are in changed_hours.py, the rules per
charge-by mode in report_decisions.py, the Stripe request of an entry in stripe_usage_params.py, and the
writes of a plan in ledger_planning.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.metering.meters.metrics import ChargeBy
from portal_api.reporting.changed_hours import (
    carried_value,
    changed_hours,
    first_seen_milli,
    missing_carries,
    period_rollups,
    reported_heads,
)
from portal_api.reporting.report_decisions import (
    closed_period_skips,
    decide_hour,
    is_period_mode,
    local_action,
    needs_carried_value,
    period_wants,
    routable_targets,
    scale,
)
from portal_api.reporting.report_plan import Head, PairKey, Plan
from portal_api.reporting.targets import PriceRoute, Target


class Planner:
    """Plans one run: which ledger entries to add and which reported hours to update."""

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
        self.subset = subset
        self.routes = routes
        self.targets, errors = routable_targets(targets, routes)
        self.plan = Plan(run_id=run_id, errors=errors)

    async def run(self) -> Plan:
        changed = await changed_hours(
            self.session, self.targets, since=self.since, until=self.until, subset=self.subset
        )
        flagged_period_pairs: set[PairKey] = set()
        for pair, hours in changed.items():
            target = self.targets[pair]
            route = self.routes[target.price_id]
            if is_period_mode(target, route):
                flagged_period_pairs.add(pair)
                continue
            action = local_action(target)
            for hour, (value, head) in sorted(hours.items()):
                self.plan.record(
                    decide_hour(
                        target,
                        route,
                        hour,
                        value_milli=value,
                        head=head,
                        wanted_milli=scale(route, value),
                        action=action,
                    )
                )
        flagged_period_pairs |= await missing_carries(self.session, self.targets, until=self.until)
        for pair in sorted(flagged_period_pairs):
            await self._replan_pair(self.targets[pair], changed.get(pair, {}))
        return self.plan

    async def _replan_pair(self, target: Target, changed: dict[datetime, tuple[int, Head | None]]) -> None:
        """A whole-period mode: every hour of the period is planned again from the period's rollups."""
        route = self.routes[target.price_id]
        first = target.first_hour
        low = min(self.since, first)
        rollups = await period_rollups(self.session, target, low, self.until)
        heads = await reported_heads(self.session, target, low, self.until)
        for hour, (value, head) in changed.items():  # vanished hours are not in `rollups`
            rollups.setdefault(hour, value)
            if head is not None:
                heads.setdefault(hour, head)
        for decision in closed_period_skips(target, rollups, heads):
            self.plan.record(decision)
        # Values first seen in the period: for a legacy price swapped in mid-period, counted from the period's
        # start (the item's records add up over the whole period); a meter's, from the swap (Stripe bills
        # the meter's usage from then on).
        seen_from = target.period_first_hour if route.kind == "usage_record" else first
        first_seen = (
            await first_seen_milli(self.session, target, seen_from, self.until)
            if target.charge_by is ChargeBy.SUM
            else None
        )
        carried = (
            await carried_value(self.session, target, first)
            if needs_carried_value(target, rollups, self.until)
            else None
        )
        wants = period_wants(
            target, route, rollups, heads, until=self.until, first_seen=first_seen, carried_milli=carried
        )
        for hour, (wanted, action) in sorted(wants.items()):
            self.plan.record(
                decide_hour(
                    target,
                    route,
                    hour,
                    value_milli=rollups.get(hour, 0),
                    head=heads.get(hour),
                    wanted_milli=wanted,
                    action=action,
                    allow_closed=True,
                )
            )
