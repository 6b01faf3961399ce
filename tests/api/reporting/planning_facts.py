"""Facts for the planner's pure unit tests: a reporting target per charge-by mode, price routes, hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal_api.metering.meters.metrics import ChargeBy
from portal_api.reporting.targets import PriceRoute, Target

HOUR = timedelta(hours=1)
JAN = datetime(2025, 1, 1, tzinfo=UTC)
FEB = datetime(2025, 2, 1, tzinfo=UTC)

USAGE_RECORD = PriceRoute("price_1", "usage_record", {})
METER_EVENT = PriceRoute("price_1", "meter_event", {}, event_name="api_calls", meter_formula="sum")


def target(
    charge_by: ChargeBy = ChargeBy.SUM,
    *,
    unique_metric: bool = False,
    period_start: datetime = JAN,
    period_end: datetime = FEB,
    billable_from: datetime | None = None,
    subscription_item_id: str = "si_1",
) -> Target:
    return Target(
        subscription_item_id=subscription_item_id,
        stripe_subscription_id="sub_1",
        stripe_customer_id="cus_1",
        user_id="usr_1",
        price_id="price_1",
        meter_id="mtr_1",
        meter_name="API calls",
        charge_by=charge_by,
        unique_metric=unique_metric,
        period_start=period_start,
        period_end=period_end,
        billable_from=billable_from or period_start,
    )


def ts(moment: datetime) -> int:
    return int(moment.timestamp())
