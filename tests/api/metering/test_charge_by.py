"""Charge-by values per mode: what is reported each hour (usage records, Billing Meters) and billed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from portal_api.metering.charge_by import HourValue, charge_report, period_hours

START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 4, 1, tzinfo=UTC)


def hv(hours_after_start: int, value: str | int) -> HourValue:
    return HourValue(START + timedelta(hours=hours_after_start), Decimal(value))


HOURLY = [hv(0, 5), hv(3, 0), hv(7, 12), hv(30, 4)]
OUTSIDE = [HourValue(START - timedelta(hours=1), Decimal(100)), HourValue(END, Decimal(100))]


def report(mode: str, hourly: list[HourValue], carried: Decimal | None = None):  # type: ignore[no-untyped-def]
    return charge_report(mode, hourly + OUTSIDE, period_start=START, period_end=END, carried=carried)


def test_sum_reports_nonzero_hourly_increments_and_bills_their_sum() -> None:
    result = report("sum_during_period", HOURLY)

    assert result.action == "increment" and result.meter_formula == "sum"
    assert result.usage_records == [hv(0, 5), hv(7, 12), hv(30, 4)]
    assert result.meter_events == result.usage_records
    assert result.period_value == 21


def test_max_sets_every_hour_and_sends_the_running_max_to_a_last_meter() -> None:
    result = report("max_during_period", HOURLY)

    assert result.action == "set" and result.meter_formula == "last"
    assert result.usage_records == HOURLY
    assert result.meter_events == [hv(0, 5), hv(7, 12)]
    assert result.period_value == 12
    assert result.meter_events[-1].value == result.period_value  # a `last` meter bills the max


def test_last_during_period_bills_the_last_hour_with_events() -> None:
    result = report("last_during_period", HOURLY)

    assert result.action == "set" and result.meter_formula == "last"
    assert result.usage_records == HOURLY and result.meter_events == HOURLY
    assert result.period_value == 4


def test_last_during_period_without_events_bills_zero() -> None:
    assert report("last_during_period", []).period_value == 0


def test_last_ever_carries_the_previous_value_into_a_quiet_period() -> None:
    quiet = report("last_ever", [], carried=Decimal(9))
    busy = report("last_ever", HOURLY, carried=Decimal(9))
    never = report("last_ever", [])

    assert quiet.period_value == 9 and quiet.usage_records == []
    assert quiet.meter_events == [HourValue(START, Decimal(9))]  # re-sent so a `last` meter sees it
    assert busy.period_value == 4
    assert busy.meter_events[0] == HourValue(START, Decimal(5))  # first hour has its own value
    assert never.period_value == 0 and never.meter_events == []


def test_last_ever_carry_goes_to_first_hour_when_it_has_no_events() -> None:
    later = [hv(5, 2)]
    result = report("last_ever", later, carried=Decimal(7))
    assert result.meter_events == [HourValue(START, Decimal(7)), hv(5, 2)]
    assert result.period_value == 2


def test_hour_straddling_a_period_boundary_is_billed_in_the_period_beginning_in_it() -> None:
    start = datetime(2025, 3, 14, 14, 23, 5, tzinfo=UTC)
    end = datetime(2025, 4, 14, 14, 23, 5, tzinfo=UTC)
    hourly = [
        HourValue(datetime(2025, 3, 14, 13, tzinfo=UTC), Decimal(8)),  # wholly before: previous period
        HourValue(datetime(2025, 3, 14, 14, tzinfo=UTC), Decimal(1)),  # straddles the start: this period
        HourValue(datetime(2025, 3, 14, 15, tzinfo=UTC), Decimal(2)),
        HourValue(datetime(2025, 4, 14, 14, tzinfo=UTC), Decimal(4)),  # straddles the end: next period
    ]
    result = charge_report("sum_during_period", hourly, period_start=start, period_end=end)
    assert result.period_value == 3
    assert period_hours(start, end) == (
        datetime(2025, 3, 14, 14, tzinfo=UTC),
        datetime(2025, 4, 14, 14, tzinfo=UTC),
    )
    assert period_hours(START, START) == (START, START)
