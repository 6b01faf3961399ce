"""The planner's pure decisions: what an hour reports, corrects or skips, per charge-by mode and route."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import datetime

import pytest

from portal_api.metering import rollups
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.reporting import report_decisions
from portal_api.reporting.report_decisions import decide_hour, routable_targets, scale, whole_units
from portal_api.reporting.report_plan import Head, HourDecision, Plan
from portal_api.reporting.targets import PriceRoute
from tests.api.reporting.planning_facts import FEB, HOUR, JAN, METER_EVENT, USAGE_RECORD, target, ts

H5 = JAN + 5 * HOUR


def sum_hour(value_milli: int, head: Head | None, route: PriceRoute = METER_EVENT) -> HourDecision:
    return decide_hour(
        target(ChargeBy.SUM),
        route,
        H5,
        value_milli=value_milli,
        head=head,
        wanted_milli=scale(route, value_milli),
        action="increment",
    )


# -- one hour ---------------------------------------------------------------------------------------------


def test_a_first_sum_report_sends_the_hour_rounded_half_up_to_whole_units_for_usage_records() -> None:
    decision = sum_hour(2500, None, USAGE_RECORD)

    entry = decision.entry
    assert entry is not None and not entry.skipped
    assert (entry.revision, entry.action, entry.quantity_milli) == (0, "increment", 3000)
    assert (entry.target_milli, entry.value_milli) == (3000, 2500)
    assert entry.report_timestamp == ts(H5)
    assert entry.kind == "usage_record" and not entry.carried
    assert decision.head == Head(0, 2500, 3000)
    assert not decision.correction


def test_meter_events_keep_the_exact_thousandths() -> None:
    entry = sum_hour(2500, None, METER_EVENT).entry
    assert entry is not None
    assert (entry.quantity_milli, entry.kind) == (2500, "meter_event")


def test_late_usage_on_a_reported_sum_hour_is_a_correction_sending_only_the_difference() -> None:
    decision = sum_hour(5250, Head(0, 3000, 3000))

    entry = decision.entry
    assert entry is not None
    assert (entry.revision, entry.quantity_milli) == (1, 2250)
    assert (entry.target_milli, entry.value_milli) == (5250, 5250)
    assert decision.correction
    assert decision.head == Head(1, 5250, 5250)


def test_an_unchanged_hour_plans_nothing() -> None:
    decision = sum_hour(3000, Head(2, 3000, 3000))
    assert decision == HourDecision(("si_1", "mtr_1", H5))


def test_a_change_that_rounds_to_the_units_already_reported_only_updates_the_reported_value() -> None:
    decision = sum_hour(3200, Head(0, 3000, 3000), USAGE_RECORD)
    assert decision.entry is None
    assert decision.head == Head(0, 3200, 3000)


def test_a_new_sum_hour_without_usage_is_remembered_without_a_report() -> None:
    decision = sum_hour(0, None)
    assert decision.entry is None
    assert decision.head == Head(-1, 0, 0)


def test_usage_arriving_for_an_hour_remembered_empty_is_a_first_report_not_a_correction() -> None:
    decision = sum_hour(2000, Head(-1, 0, 0))
    assert decision.entry is not None
    assert (decision.entry.revision, decision.entry.quantity_milli) == (0, 2000)
    assert not decision.correction


def test_a_new_last_hour_at_zero_is_still_set_in_stripe() -> None:
    decision = decide_hour(
        target(ChargeBy.LAST), METER_EVENT, H5, value_milli=0, head=None, wanted_milli=0, action="set"
    )
    assert decision.entry is not None
    assert (decision.entry.action, decision.entry.quantity_milli) == ("set", 0)


def test_usage_decreasing_after_a_report_is_skipped_because_stripe_cannot_be_decremented() -> None:
    decision = sum_hour(4000, Head(1, 5000, 5000))

    entry = decision.entry
    assert entry is not None and entry.skipped
    assert "cannot be decremented" in (entry.skip_reason or "")
    assert (entry.revision, entry.target_milli, entry.quantity_milli, entry.action) == (2, 5000, 0, None)
    assert entry.kind == "skipped"
    # The revision number is used up; Stripe keeps the old target.
    assert decision.head == Head(2, 4000, 5000)
    assert not decision.correction


def test_a_last_during_period_correction_sets_the_new_value_at_the_hours_timestamp() -> None:
    decision = decide_hour(
        target(ChargeBy.LAST),
        USAGE_RECORD,
        H5,
        value_milli=2000,
        head=Head(0, 4000, 4000),
        wanted_milli=2000,
        action="set",
    )

    entry = decision.entry
    assert entry is not None
    assert (entry.action, entry.quantity_milli, entry.revision) == ("set", 2000, 1)
    assert entry.report_timestamp == ts(H5)
    assert decision.correction


def test_max_on_usage_records_sets_each_hours_value_like_last() -> None:
    decision = decide_hour(
        target(ChargeBy.MAX), USAGE_RECORD, H5, value_milli=7000, head=None, wanted_milli=7000, action="set"
    )
    assert decision.entry is not None
    assert (decision.entry.action, decision.entry.quantity_milli) == ("set", 7000)


def test_a_set_for_an_hour_of_a_closed_period_is_skipped_unless_the_whole_period_is_replanned() -> None:
    period_start = JAN + 10 * HOUR
    last_ever = target(ChargeBy.LAST_EVER, period_start=period_start, billable_from=JAN)

    def decide(*, allow_closed: bool) -> HourDecision:
        return decide_hour(
            last_ever,
            METER_EVENT,
            H5,
            value_milli=2000,
            head=None,
            wanted_milli=2000,
            action="set",
            allow_closed=allow_closed,
        )

    skipped = decide(allow_closed=False).entry
    assert skipped is not None and skipped.skip_reason == "closed period: already invoiced"

    carried = decide(allow_closed=True).entry
    assert carried is not None and not carried.skipped
    assert carried.carried
    assert carried.report_timestamp == ts(period_start)


def test_sum_usage_for_an_hour_of_a_closed_period_is_carried_into_the_current_one() -> None:
    period_start = JAN + 10 * HOUR
    decision = decide_hour(
        target(ChargeBy.SUM, period_start=period_start, billable_from=JAN),
        USAGE_RECORD,
        H5,
        value_milli=2000,
        head=None,
        wanted_milli=2000,
        action="increment",
    )
    assert decision.entry is not None
    assert decision.entry.carried
    assert decision.entry.report_timestamp == ts(period_start)
    assert decision.entry.quantity_milli == 2000


def test_hours_before_the_subscription_are_ignored_and_hours_past_the_mirrored_period_deferred() -> None:
    late_start = target(ChargeBy.SUM, billable_from=JAN + 3 * HOUR)

    def decide(hour: datetime) -> HourDecision:
        return decide_hour(
            late_start, METER_EVENT, hour, value_milli=1000, head=None, wanted_milli=1000, action="increment"
        )

    assert decide(JAN + 2 * HOUR) == HourDecision(("si_1", "mtr_1", JAN + 2 * HOUR))
    assert decide(JAN + 3 * HOUR).entry is not None
    assert decide(FEB) == HourDecision(("si_1", "mtr_1", FEB), deferred=True)


@pytest.mark.parametrize(
    ("value_milli", "whole"),
    [(0, 0), (499, 0), (500, 1000), (1499, 1000), (1500, 2000), (-499, 0), (-500, -1000), (-1500, -2000)],
)
def test_whole_units_round_half_up_away_from_zero(value_milli: int, whole: int) -> None:
    assert whole_units(value_milli) == whole


def test_hour_is_the_rollups_hour() -> None:
    assert report_decisions.HOUR == rollups.HOUR


# -- targets and the plan ---------------------------------------------------------------------------------


def test_targets_whose_price_cannot_carry_usage_are_left_out_and_named_with_the_reason() -> None:
    routes = {
        "price_1": USAGE_RECORD,
        "price_2": PriceRoute("price_2", None, {}, problem="price is not metered"),
    }
    good = target()
    unmetered = replace(good, subscription_item_id="si_2", price_id="price_2")
    unknown = replace(good, subscription_item_id="si_3", price_id="price_3")

    routable, errors = routable_targets([good, unmetered, unknown], routes)

    assert routable == {good.key: good}
    assert [e["error"] for e in errors] == ["price is not metered", "price not looked up"]
    assert [e["subscription_item_id"] for e in errors] == ["si_2", "si_3"]


def test_the_plan_counts_what_its_decisions_add_up_to() -> None:
    plan = Plan(run_id="rrun_1")
    for decision in (
        sum_hour(5000, Head(0, 3000, 3000)),  # a correction
        sum_hour(1000, Head(1, 5000, 5000)),  # a decrease: skipped
        sum_hour(3000, Head(0, 2000, 3000)),  # same target: the reported value only
        decide_hour(
            target(), METER_EVENT, FEB, value_milli=1, head=None, wanted_milli=1, action="increment"
        ),  # deferred
    ):
        plan.record(decision)

    assert (plan.to_send, plan.corrections, plan.skipped, plan.deferred) == (1, 1, 1, 1)
    assert len(plan.entries) == 2
    assert plan.heads == {("si_1", "mtr_1", H5): Head(0, 3000, 3000)}  # the last decision for the hour wins


def test_decisions_and_stripe_params_load_neither_sqlalchemy_nor_the_stripe_gateway() -> None:
    code = (
        "import sys\n"
        "import portal_api.reporting.report_decisions, portal_api.reporting.stripe_usage_params\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'stripe')"
        " or m in ('portal_api.stripe_client', 'portal_api.db', 'portal_api.reporting.targets')))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
