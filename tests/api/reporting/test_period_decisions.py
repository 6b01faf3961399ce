"""Whole-period decisions: the running max on a meter, last_ever's carry, unique sums, closed hours."""

from __future__ import annotations

import pytest

from portal_api.metering.meters.metrics import ChargeBy
from portal_api.reporting.report_decisions import (
    closed_period_skips,
    decide_hour,
    is_period_mode,
    local_action,
    needs_carried_value,
    period_wants,
)
from portal_api.reporting.report_plan import Head
from portal_api.reporting.targets import PriceRoute
from tests.api.reporting.planning_facts import HOUR, JAN, METER_EVENT, USAGE_RECORD, target

H5 = JAN + 5 * HOUR


@pytest.mark.parametrize(
    ("charge_by", "unique_metric", "route", "period_mode", "action"),
    [
        (ChargeBy.SUM, False, USAGE_RECORD, False, "increment"),
        (ChargeBy.SUM, False, METER_EVENT, False, "increment"),
        (ChargeBy.SUM, True, USAGE_RECORD, True, "increment"),
        (ChargeBy.LAST, False, USAGE_RECORD, False, "set"),
        (ChargeBy.LAST, False, METER_EVENT, False, "set"),
        (ChargeBy.MAX, False, USAGE_RECORD, False, "set"),
        (ChargeBy.MAX, False, METER_EVENT, True, "set"),
        (ChargeBy.LAST_EVER, False, USAGE_RECORD, True, "set"),
        (ChargeBy.LAST_EVER, False, METER_EVENT, True, "set"),
    ],
)
def test_which_modes_replan_the_whole_period_and_which_action_an_hour_alone_takes(
    charge_by: ChargeBy, unique_metric: bool, route: PriceRoute, period_mode: bool, action: str
) -> None:
    facts = target(charge_by, unique_metric=unique_metric)
    assert is_period_mode(facts, route) is period_mode
    assert local_action(facts) == action


def test_max_on_a_billing_meter_sends_the_running_maximum_of_the_period() -> None:
    until = JAN + 4 * HOUR
    hourly = {JAN: 3000, JAN + HOUR: 7000, JAN + 2 * HOUR: 5000, until: 9000}

    wants = period_wants(target(ChargeBy.MAX), METER_EVENT, hourly, {}, until=until)

    assert wants == {JAN: (3000, "set"), JAN + HOUR: (7000, "set"), JAN + 2 * HOUR: (7000, "set")}


def test_last_ever_carries_the_previous_value_into_the_first_hour_of_a_period_without_usage() -> None:
    first = JAN + 10 * HOUR
    last_ever = target(ChargeBy.LAST_EVER, period_start=first, billable_from=JAN)
    hourly = {H5: 4200, first + 2 * HOUR: 1400}
    until = first + 3 * HOUR

    assert needs_carried_value(last_ever, hourly, until)
    wants = period_wants(last_ever, USAGE_RECORD, hourly, {}, until=until, carried_milli=4200)

    assert wants == {first: (4000, "set"), first + 2 * HOUR: (1000, "set")}


def test_last_ever_with_usage_in_the_first_hour_or_before_it_is_closed_carries_nothing() -> None:
    first = JAN + 10 * HOUR
    last_ever = target(ChargeBy.LAST_EVER, period_start=first, billable_from=JAN)
    with_usage = {H5: 4200, first: 1000}

    assert not needs_carried_value(last_ever, with_usage, first + HOUR)
    assert not needs_carried_value(last_ever, {H5: 4200}, first)
    assert not needs_carried_value(target(ChargeBy.LAST, period_start=first), {H5: 4200}, first + HOUR)
    wants = period_wants(last_ever, METER_EVENT, with_usage, {}, until=first + HOUR, carried_milli=4200)
    assert wants == {first: (1000, "set")}


def test_a_unique_sum_reports_values_first_seen_per_hour_and_zero_for_a_reported_hour_now_empty() -> None:
    unique = target(ChargeBy.SUM, unique_metric=True)
    hourly = {JAN: 5000, JAN + HOUR: 5000}
    heads = {JAN + 2 * HOUR: Head(0, 1000, 1000)}
    first_seen = {JAN: 3000, JAN + HOUR: 1000}

    wants = period_wants(unique, METER_EVENT, hourly, heads, until=JAN + 3 * HOUR, first_seen=first_seen)

    assert wants == {
        JAN: (3000, "increment"),
        JAN + HOUR: (1000, "increment"),
        JAN + 2 * HOUR: (0, "increment"),
    }
    emptied = decide_hour(
        unique,
        METER_EVENT,
        JAN + 2 * HOUR,
        value_milli=0,
        head=heads[JAN + 2 * HOUR],
        wanted_milli=0,
        action="increment",
        allow_closed=True,
    )
    assert emptied.entry is not None and emptied.entry.skipped


def test_changed_hours_of_a_closed_period_are_skipped_once_and_last_ever_says_it_carries_them() -> None:
    first = JAN + 10 * HOUR
    last_ever = target(ChargeBy.LAST_EVER, period_start=first, billable_from=JAN)
    hourly = {H5: 2000, H5 + HOUR: 3000, first: 1000}
    heads = {H5 + HOUR: Head(0, 3000, 3000), H5 + 2 * HOUR: Head(0, 500, 500)}

    skips = list(closed_period_skips(last_ever, hourly, heads))

    assert [d.key[2] for d in skips] == [H5, H5 + 2 * HOUR]  # H5+1h is unchanged, `first` is open
    assert all(d.entry is not None and d.entry.skipped for d in skips)
    assert skips[0].entry is not None
    assert (skips[0].entry.skip_reason or "").endswith("carried by the period-start report")
    assert skips[1].head == Head(1, 0, 500)
    unique = target(ChargeBy.SUM, unique_metric=True, period_start=first, billable_from=JAN)
    [plain] = closed_period_skips(unique, {H5: 2000}, {})
    assert plain.entry is not None and plain.entry.skip_reason == "closed period: already invoiced"
