"""Report decisions (pure): given an hour's rollup and what Stripe holds for it, report, correct or skip.

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

Price swaps (targets.py): a target reports only the hours its item had its price (`covers`). A Billing
Meter price that the item no longer has sends nothing more (Stripe bills a meter's usage only from the swap
to the new price on); a legacy price keeps reporting its hours before the swap onto the item, which Stripe
bills at the period end at the item's price then. An hour's stamp never falls before the swap that began
its window.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from portal_api.metering.meters.metrics import ChargeBy
from portal_api.reporting.report_plan import MILLI, Action, Head, HourDecision, LedgerEntry, PairKey

if TYPE_CHECKING:
    from portal_api.reporting.targets import PriceRoute, Target

# metering.rollups.HOUR; importing it from there would pull the ORM into pure code.
HOUR = timedelta(hours=1)
DECREASED = "usage decreased after it was reported (meter rebuilt?); Stripe cannot be decremented"
CLOSED = "closed period: already invoiced"


def whole_units(value_milli: int) -> int:
    """Rounded half up to a whole unit, still in thousandths (usage records take integers)."""
    if value_milli >= 0:
        return (value_milli + MILLI // 2) // MILLI * MILLI
    return -((-value_milli + MILLI // 2) // MILLI * MILLI)


def scale(route: PriceRoute, value_milli: int) -> int:
    return whole_units(value_milli) if route.kind == "usage_record" else value_milli


def is_period_mode(target: Target, route: PriceRoute) -> bool:
    """Modes whose hourly value depends on other hours of the period (see the module docstring)."""
    if target.charge_by is ChargeBy.LAST_EVER:
        return True
    if target.charge_by is ChargeBy.MAX and route.kind == "meter_event":
        return True
    return target.charge_by is ChargeBy.SUM and target.unique_metric


def local_action(target: Target) -> Action:
    """The action of a mode whose hourly value is the hour's own rollup."""
    return "increment" if target.charge_by is ChargeBy.SUM else "set"


def routable_targets(
    targets: Iterable[Target], routes: Mapping[str, PriceRoute]
) -> tuple[dict[PairKey, Target], list[dict[str, Any]]]:
    """The targets whose price has a way to Stripe, and an error naming each one that has none."""
    routable: dict[PairKey, Target] = {}
    errors: list[dict[str, Any]] = []
    for target in targets:
        route = routes.get(target.price_id)
        if route is not None and route.kind == "meter_event" and not target.current:
            continue  # swapped away: Stripe bills none of this meter's usage on the item any more
        if route is None or route.kind is None:
            errors.append(
                {
                    "subscription_item_id": target.subscription_item_id,
                    "meter_id": target.meter_id,
                    "error": route.problem if route else "price not looked up",
                }
            )
            continue
        routable[target.key] = target
    return routable, errors


def decide_hour(
    target: Target,
    route: PriceRoute,
    hour: datetime,
    *,
    value_milli: int,
    head: Head | None,
    wanted_milli: int,
    action: Action,
    allow_closed: bool = False,
) -> HourDecision:
    """One hour: `wanted_milli` is the value Stripe should hold for it, `head` what it holds (None: never
    reported). `allow_closed`: the caller has already dealt with closed periods (whole-period modes)."""
    key = (target.subscription_item_id, target.meter_id, hour)
    if not target.covers(hour):
        return HourDecision(key)  # before the subscription started, or the item had another price then
    if hour >= target.period_end:
        return HourDecision(key, deferred=True)  # our period mirror is behind Stripe
    old_target = head.target_milli if head is not None else 0
    if head is not None and head.target_milli == wanted_milli:
        if head.value_milli != value_milli:
            return HourDecision(key, head=Head(head.revision, value_milli, head.target_milli))
        return HourDecision(key)
    if head is None and action == "increment" and wanted_milli == 0:
        return HourDecision(key, head=Head(-1, value_milli, 0))
    closed = not target.in_current_period(hour)
    if action == "increment" and wanted_milli < old_target:
        return skip_hour(target, hour, value_milli, head, DECREASED)
    if action == "set" and closed and not allow_closed:
        return skip_hour(target, hour, value_milli, head, CLOSED)
    revision = head.revision + 1 if head is not None else 0
    entry = LedgerEntry(
        subscription_item_id=target.subscription_item_id,
        meter_id=target.meter_id,
        hour=hour,
        revision=revision,
        user_id=target.user_id,
        stripe_customer_id=target.stripe_customer_id,
        stripe_subscription_id=target.stripe_subscription_id,
        value_milli=value_milli,
        target_milli=wanted_milli,
        quantity_milli=wanted_milli - old_target if action == "increment" else wanted_milli,
        action=action,
        report_timestamp=target.timestamp_for(hour),
        carried=closed,
        route=route,
    )
    return HourDecision(
        key,
        entry=entry,
        head=Head(revision, value_milli, wanted_milli),
        correction=head is not None and head.revision >= 0,
    )


def skip_hour(
    target: Target, hour: datetime, value_milli: int, head: Head | None, reason: str
) -> HourDecision:
    """Record that the hour's new value cannot go to Stripe; Stripe keeps what it has."""
    revision = head.revision + 1 if head is not None else 0
    old_target = head.target_milli if head is not None else 0
    entry = LedgerEntry(
        subscription_item_id=target.subscription_item_id,
        meter_id=target.meter_id,
        hour=hour,
        revision=revision,
        user_id=target.user_id,
        stripe_customer_id=target.stripe_customer_id,
        stripe_subscription_id=target.stripe_subscription_id,
        value_milli=value_milli,
        target_milli=old_target,
        skip_reason=reason,
    )
    return HourDecision(
        (target.subscription_item_id, target.meter_id, hour),
        entry=entry,
        head=Head(revision, value_milli, old_target),
    )


def closed_period_skips(
    target: Target, rollups: Mapping[datetime, int], heads: Mapping[datetime, Head]
) -> Iterator[HourDecision]:
    """Whole-period modes: changed hours of periods Stripe has closed can no longer be sent."""
    reason = CLOSED
    if target.charge_by is ChargeBy.LAST_EVER:
        reason += "; its value is carried by the period-start report"
    closed = target.period_first_hour
    theirs = (h for h in set(rollups) | set(heads) if target.covers(h) or target.before_start(h))
    for hour in sorted(h for h in theirs if h < closed):
        value = rollups.get(hour, 0)
        head = heads.get(hour)
        if head is None or head.value_milli != value:
            yield skip_hour(target, hour, value, head, reason)


def needs_carried_value(target: Target, rollups: Mapping[datetime, int], until: datetime) -> bool:
    """last_ever without usage in the period's first hour: that report carries the latest earlier value."""
    first = target.first_hour
    return target.charge_by is ChargeBy.LAST_EVER and first < until and first not in rollups


def period_wants(
    target: Target,
    route: PriceRoute,
    rollups: Mapping[datetime, int],
    heads: Mapping[datetime, Head],
    *,
    until: datetime,
    first_seen: Mapping[datetime, int] | None = None,
    carried_milli: int | None = None,
) -> dict[datetime, tuple[int, Action]]:
    """Whole-period modes: the value Stripe should hold for each hour of the current period, and how it is
    sent. `first_seen`: a unique metric's values first seen per hour (in thousandths); `carried_milli`: the
    latest value before the period (last_ever)."""
    first = target.first_hour
    wants: dict[datetime, tuple[int, Action]] = {}
    current: Sequence[datetime] = sorted(h for h in rollups if first <= h < until and target.covers(h))
    if target.charge_by is ChargeBy.SUM:  # a unique metric: values first seen in the period per hour
        firsts = first_seen or {}
        for hour in sorted(set(current) | {h for h in heads if h >= first and target.covers(h)}):
            wants[hour] = (scale(route, firsts.get(hour, 0)), "increment")
    elif target.charge_by is ChargeBy.MAX:  # Billing Meter `last` fed the running maximum
        running: int | None = None
        for hour in current:
            running = rollups[hour] if running is None else max(running, rollups[hour])
            wants[hour] = (running, "set")
    else:  # last_ever
        for hour in current:
            wants[hour] = (scale(route, rollups[hour]), "set")
        if carried_milli is not None and needs_carried_value(target, rollups, until) and target.covers(first):
            wants[first] = (scale(route, carried_milli), "set")
    return wants
