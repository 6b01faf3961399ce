"""Charge-by values: from a meter's hourly values, what to report to Stripe each hour and what it bills.

Input is the meter's value per UTC hour for one customer (hours without events are absent). An hour belongs
to the billing period that contains its start, and reports are stamped with the hour's start.

- sum_during_period: every hour's value is an increment (legacy usage record `action=increment`, or a
  Billing Meter with formula `sum`); the period bills their sum. For unique metrics the caller passes the
  number of values first seen in the period during each hour, so the sum is the period's distinct count.
- max_during_period: legacy `set` of each hour's value with `aggregate_usage=max`; the period bills the
  largest. Billing Meters have no max formula: the reporter sends the running maximum to a `last` meter.
- last_during_period: legacy `set` of each hour's value; the period bills the last hour's value. Billing
  Meter: formula `last` fed the same values.
- last_ever: as last_during_period, but a period without events bills the last value ever reported. Billing
  Meters only look inside the period, so the reporter re-sends the carried value at the period's first hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from portal_api.metering.meters.metrics import ChargeBy
from portal_api.metering.rollups import hour_of


@dataclass(frozen=True)
class HourValue:
    hour: datetime
    value: Decimal


@dataclass(frozen=True)
class ChargeReport:
    charge_by: ChargeBy
    # Legacy usage records (API versions before 2025-03-31.basil): one record per entry.
    action: Literal["increment", "set"]
    usage_records: list[HourValue]
    # Billing Meters (basil and later): the meter's formula and the meter events to send.
    meter_formula: Literal["sum", "last"]
    meter_events: list[HourValue]
    # What Stripe should bill for the period.
    period_value: Decimal


def charge_report(
    charge_by: ChargeBy | str,
    hourly: Sequence[HourValue],
    *,
    period_start: datetime,
    period_end: datetime,
    carried: Decimal | None = None,
) -> ChargeReport:
    """The report for one meter, customer and period.

    `hourly` may hold hours outside the period; only the period's hours count (see `period_hours`).
    `carried` is the last value before the period (last_ever only).
    """
    mode = ChargeBy(charge_by)
    first_hour, end_hour = period_hours(period_start, period_end)
    inside = sorted((h for h in hourly if first_hour <= h.hour < end_hour), key=lambda h: h.hour)
    if mode is ChargeBy.SUM:
        increments = [h for h in inside if h.value != 0]
        return ChargeReport(
            mode, "increment", increments, "sum", increments, sum((h.value for h in inside), Decimal(0))
        )
    if mode is ChargeBy.MAX:
        running: list[HourValue] = []
        highest: Decimal | None = None
        for h in inside:
            if highest is None or h.value > highest:
                highest = h.value
                running.append(HourValue(h.hour, h.value))
        return ChargeReport(
            mode, "set", inside, "last", running, highest if highest is not None else Decimal(0)
        )
    if mode is ChargeBy.LAST:
        period_value = inside[-1].value if inside else Decimal(0)
        return ChargeReport(mode, "set", inside, "last", inside, period_value)
    # last_ever
    events = list(inside)
    if carried is not None and (not inside or inside[0].hour != first_hour):
        events.insert(0, HourValue(first_hour, carried))
    fallback = carried if carried is not None else Decimal(0)
    return ChargeReport(mode, "set", inside, "last", events, inside[-1].value if inside else fallback)


def period_hours(period_start: datetime, period_end: datetime) -> tuple[datetime, datetime]:
    """The hour buckets billed in a period: [hour of its start, hour of its end).

    The hour that straddles a period boundary is billed in the period that begins inside it (it is complete
    only after the earlier period closed), so every hour belongs to exactly one period, and a new
    subscriber's first partial hour counts. The reporter uses the same rule (reporting/report_decisions.py).
    """
    return hour_of(period_start), hour_of(period_end)
