"""Request and response bodies: Meter Test, upcoming invoice, admin customers and report runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from portal_api.metering.meters.matching_event import MeterTestEvent
from portal_api.metering.meters.metrics import from_milli
from portal_api.reporting.models import ReportRun, UsageReport

# -- Meter Test ---------------------------------------------------------------------------------------------


class MeterTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: MeterTestEvent | None = Field(
        default=None,
        description="The synthetic call sent for the Meter Test's own customer (test mode only); default: "
        "one the meter's filters accept, as GET /v1/admin/meters/{id}/test-event derives it",
    )
    subscription_id: str | None = Field(
        default=None,
        max_length=255,
        description="Live mode only: the subscription whose upcoming invoice is compared with our ledger "
        "(nothing is sent); default: the newest billable one with the meter's price",
    )


class SyntheticEventOut(BaseModel):
    """The Meter Test's synthetic call, as sent (or to be sent) for its own customer."""

    route: str
    method: str
    status: int | None
    weight: int
    company: str | None
    request_headers: dict[str, Any]
    response_headers: dict[str, Any]
    metadata: dict[str, Any]

    @classmethod
    def of(cls, event: MeterTestEvent | None) -> SyntheticEventOut | None:
        return None if event is None else cls.model_validate(event.model_dump())


class MeterTestEventOut(BaseModel):
    meter_id: str
    event: SyntheticEventOut | None = Field(description="An event the meter's filters accept, or null")
    reason: str | None = Field(description="Why no event can match the filters, when none can")


class Check(BaseModel):
    name: str
    ok: bool
    detail: str


class OurSide(BaseModel):
    usage_quantity: Decimal | None = Field(description="The meter's usage this period, from our rollups")
    reported_quantity: Decimal | None = Field(
        description="What our ledger has confirmed in Stripe this period"
    )
    amount: int | None = Field(description="Our pricing math on the reported quantity, minor units")


class StripeSide(BaseModel):
    quantity: Decimal | None
    amount: int | None = Field(description="The item's line on Stripe's upcoming invoice, minor units")
    amount_due: int | None


class MeterTestOut(BaseModel):
    passed: bool = Field(serialization_alias="pass")
    reason: str | None = Field(description="Why it failed, in one sentence")
    meter_id: str
    price_id: str
    api_version: str
    mode: Literal["test", "live"] = Field(
        description="test: a synthetic event for the Meter Test's own customer and subscription; live: "
        "nothing is sent, an existing subscription's invoice preview is compared with our ledger"
    )
    event: SyntheticEventOut | None = Field(
        default=None, description="The synthetic event sent (in live mode: the one that would be)"
    )
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    customer_id: str | None = None
    currency: str | None = None
    ours: OurSide | None = None
    stripe: StripeSide | None = None
    difference: int | None = Field(default=None, description="Stripe's amount minus ours, in minor units")
    run_id: str | None = None
    checks: list[Check]


# -- upcoming invoice ---------------------------------------------------------------------------------------


class StripeInvoiceLine(BaseModel):
    description: str | None
    amount: int
    quantity: Decimal | None
    price_id: str | None


class StripeInvoicePreview(BaseModel):
    amount_due: int
    subtotal: int
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    lines: list[StripeInvoiceLine]


class EstimateLine(BaseModel):
    meter_id: str
    name: str
    price_id: str
    quantity: Decimal
    amount: int | None


class Estimate(BaseModel):
    amount: int
    currency: str | None
    period_start: datetime | None
    period_end: datetime | None
    lines: list[EstimateLine]


class UpcomingInvoiceOut(BaseModel):
    subscription_id: str
    stripe: StripeInvoicePreview
    estimate: Estimate


# -- admin console ------------------------------------------------------------------------------------------


class ReportOut(BaseModel):
    id: int
    subscription_item_id: str
    meter_id: str
    hour: datetime
    revision: int
    kind: str
    action: str
    quantity: Decimal
    report_timestamp: datetime | None
    carried: bool
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None

    @classmethod
    def from_model(cls, row: UsageReport) -> ReportOut:
        return cls(
            id=row.id,
            subscription_item_id=row.subscription_item_id,
            meter_id=row.meter_id,
            hour=row.hour,
            revision=row.revision,
            kind=row.kind,
            action=row.action,
            quantity=from_milli(row.quantity_milli),
            report_timestamp=datetime.fromtimestamp(row.report_timestamp, UTC)
            if row.report_timestamp
            else None,
            carried=row.carried,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            sent_at=row.sent_at,
        )


class MeterUsageOut(BaseModel):
    meter_id: str
    name: str
    charge_by: str
    subscription_item_id: str
    usage_quantity: Decimal = Field(description="This period's usage from our rollups")
    reported_quantity: Decimal = Field(description="What Stripe has confirmed for this period")
    unreported_reports: int = Field(description="Ledger rows not yet confirmed by Stripe")


class CustomerSubscriptionOut(BaseModel):
    id: str
    status: str
    price_id: str | None
    plan_nickname: str | None
    current_period_start: datetime | None
    current_period_end: datetime | None


class CustomerOut(BaseModel):
    user_id: str
    email: str
    name: str | None
    stripe_customer_id: str | None
    subscription: CustomerSubscriptionOut
    usage: list[MeterUsageOut]
    last_reports: list[ReportOut]


class CustomerList(BaseModel):
    data: list[CustomerOut]
    total: int
    limit: int
    offset: int


class CustomerDetail(CustomerOut):
    subscriptions: list[CustomerSubscriptionOut]


class ReportRunOut(BaseModel):
    id: str
    kind: str
    status: str
    api_version: str | None
    started_at: datetime
    finished_at: datetime | None
    range_start: datetime | None
    range_end: datetime | None
    planned: int
    corrections: int
    sent: int
    failed: int
    rejected: int
    skipped: int
    retries: int
    lag_seconds: int | None
    oldest_unreported_hour: datetime | None
    errors: list[dict[str, Any]]

    @classmethod
    def from_model(cls, row: ReportRun) -> ReportRunOut:
        return cls(
            id=row.id,
            kind=row.kind,
            status=row.status,
            api_version=row.api_version,
            started_at=row.started_at,
            finished_at=row.finished_at,
            range_start=row.range_start,
            range_end=row.range_end,
            planned=row.planned,
            corrections=row.corrections,
            sent=row.sent,
            failed=row.failed,
            rejected=row.rejected,
            skipped=row.skipped,
            retries=row.retries,
            lag_seconds=row.lag_seconds,
            oldest_unreported_hour=row.oldest_unreported_hour,
            errors=json.loads(row.errors or "[]"),
        )


class ReportNowIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    meter_id: str | None = Field(default=None, max_length=40, description="Only this meter's usage")
    start: AwareDatetime | None = Field(
        default=None,
        alias="from",
        description="Report the closed hours from here (default: the hourly job's lookback window)",
    )
    end: AwareDatetime | None = Field(default=None, alias="to", description="Up to here (default: now)")


class ReportRunList(BaseModel):
    data: list[ReportRunOut]
    lag_seconds: int | None = Field(description="The latest finished run's lag")
