"""The API's response models, generated from its OpenAPI: do not edit, run `uv run python scripts/generate_api_models.py`."""

from __future__ import annotations

# ruff: noqa: E501
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AdminTokenCreated(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    prefix: str
    token: str = Field(..., description="The full admin token. Shown in this response only; store it now.")
    created_at: datetime
    scopes: list[Literal["admin", "verify", "ingest"]]


class AdminTokenOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by_user_id: str | None
    scopes: list[Literal["admin", "verify", "ingest"]]


class BillingPortalOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    url: str


class Check(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    ok: bool
    detail: str


class CheckoutCustomerOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    email: str | None
    name: str | None


class CheckoutSessionOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    url: str


class CollectorTokenCreated(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    token: str = Field(..., description="Use as the Moesif Application Id; shown only in this response")


class CollectorTokenOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class CustomerSubscriptionOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    status: str
    price_id: str | None
    plan_nickname: str | None
    current_period_start: datetime | None
    current_period_end: datetime | None


class DatabaseHealth(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Literal["ok", "error"]
    latency_ms: float | None = Field(..., description="Round trip of SELECT 1")
    error: str | None = None


class DoubleMeteredPrice(BaseModel):
    """
    A price more than one active meter bills (made before that was refused): its usage is billed twice.
    """

    model_config = ConfigDict(extra="ignore")
    price_id: str
    nickname: str | None
    meter_ids: list[str]


class EstimateLine(BaseModel):
    model_config = ConfigDict(extra="ignore")
    meter_id: str
    name: str
    price_id: str
    quantity: str
    amount: int | None


class IngestHealth(BaseModel):
    model_config = ConfigDict(extra="ignore")
    events_last_hour: int = Field(..., description="Usage events that occurred in the last hour")


class ItemOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    price: str
    product: str | None


class KeyCreated(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    prefix: str = Field(..., description="The first characters of the key, to tell keys apart.")
    status: Literal["active", "expiring", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    secret: str = Field(..., description="The full key. Shown in this response only; store it now.")


class KeyOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    prefix: str = Field(..., description="The first characters of the key, to tell keys apart.")
    status: Literal["active", "expiring", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class MeterOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    provider: str
    stripe_product_id: str
    stripe_price_id: str
    price_nickname: str | None
    currency: str | None
    filters: Any
    metric: Any
    charge_by: Literal["sum_during_period", "last_during_period", "last_ever", "max_during_period"] = Field(
        ..., title="ChargeBy"
    )
    active: bool
    version: int
    rebuilt_at: datetime | None
    rebuilt_from: datetime | None
    created_at: datetime
    updated_at: datetime


class MeterUsageOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    meter_id: str
    name: str
    charge_by: str
    subscription_item_id: str
    usage_quantity: str = Field(..., description="This period's usage from our rollups")
    reported_quantity: str = Field(..., description="What Stripe has confirmed for this period")
    unreported_reports: int = Field(..., description="Ledger rows not yet confirmed by Stripe")


class NewKeyOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    name: str
    prefix: str
    secret: str = Field(..., description="Shown in this one response only; store it now.")


class OurSide(BaseModel):
    model_config = ConfigDict(extra="ignore")
    usage_quantity: str | None = Field(..., description="The meter's usage this period, from our rollups")
    reported_quantity: str | None = Field(
        ..., description="What our ledger has confirmed in Stripe this period"
    )
    amount: int | None = Field(..., description="Our pricing math on the reported quantity, minor units")


class PlanOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    price_id: str | None
    nickname: str | None
    product_name: str | None


class PlanRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    price_id: str | None
    nickname: str | None
    product_name: str | None


class PreviewLineOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    description: str | None
    amount: int = Field(..., description="Minor units of the currency; negative for a credit")
    proration: bool
    period_start: datetime | None
    period_end: datetime | None


class ProvisionedSubscriptionOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    status: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    items: list[ItemOut]


class ReconciliationError(BaseModel):
    model_config = ConfigDict(extra="ignore")
    object: str
    code: str
    message: str


class ReconciliationRunOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    started_at: datetime
    finished_at: datetime | None
    checked: int
    repaired: int
    errors: list[ReconciliationError]


class RefusedKey(BaseModel):
    model_config = ConfigDict(extra="ignore")
    index: int
    reason: str = Field(..., description="The verify reason: revoked, expired, no_subscription, ...")


class RejectedEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")
    index: int
    code: str
    message: str


class ReportOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    subscription_item_id: str
    meter_id: str
    hour: datetime
    revision: int
    kind: str
    action: str
    quantity: str
    report_timestamp: datetime | None
    carried: bool
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None


class ReportRunOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
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


class ReportingCustomerOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user_id: str
    email: str
    name: str | None
    stripe_customer_id: str | None
    subscription: CustomerSubscriptionOut
    usage: list[MeterUsageOut]
    last_reports: list[ReportOut]


class ReportingHealth(BaseModel):
    model_config = ConfigDict(extra="ignore")
    available: bool = Field(..., description="False when usage reporting is not installed in this database")
    last_run_at: datetime | None
    last_run_status: str | None
    lag_seconds: int | None = Field(..., description="Age of the oldest closed hour not confirmed in Stripe")


class SeriesPoint(BaseModel):
    model_config = ConfigDict(extra="ignore")
    start: datetime
    value: int | float


class StripeHealth(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Literal["ok", "error"]
    reachable: bool = Field(..., description="Stripe answered (an authentication error is an answer too)")
    latency_ms: float | None
    checked_at: datetime
    cached: bool = Field(..., description="True when this answer is reused (see HEALTH_STRIPE_CACHE_SECONDS)")
    error: str | None = None


class StripeInvoiceLine(BaseModel):
    model_config = ConfigDict(extra="ignore")
    description: str | None
    amount: int
    quantity: str | None
    price_id: str | None


class StripeInvoicePreview(BaseModel):
    model_config = ConfigDict(extra="ignore")
    amount_due: int
    subtotal: int
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    lines: list[StripeInvoiceLine]


class StripeSide(BaseModel):
    model_config = ConfigDict(extra="ignore")
    quantity: str | None
    amount: int | None = Field(..., description="The item's line on Stripe's upcoming invoice, minor units")
    amount_due: int | None


class SubscriptionItemOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    price: str
    product: str | None
    usage_type: str | None


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    status: str
    plan: PlanRef
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    cancel_at: datetime | None
    canceled_at: datetime | None
    items: list[SubscriptionItemOut]


class SyntheticEventOut(BaseModel):
    """
    The Meter Test's synthetic call, as sent (or to be sent) for its own customer.
    """

    model_config = ConfigDict(extra="ignore")
    route: str
    method: str
    status: int | None
    weight: int
    company: str | None
    request_headers: dict[str, Any]
    response_headers: dict[str, Any]
    metadata: dict[str, Any]


class Tier(BaseModel):
    model_config = ConfigDict(extra="ignore")
    up_to: int | None
    unit_amount: int | None
    unit_amount_decimal: str | None = None
    flat_amount: int | None


class TransformQuantity(BaseModel):
    model_config = ConfigDict(extra="ignore")
    divide_by: int
    round: str


class UnbilledPrice(BaseModel):
    """
    An active recurring metered Stripe price that no active meter bills: its usage never reaches Stripe.
    """

    model_config = ConfigDict(extra="ignore")
    price_id: str
    product_id: str
    product_name: str | None
    nickname: str | None
    lookup_key: str | None
    currency: str
    inactive_meter_ids: list[str] = Field(..., description="Meters on this price that are switched off")


class UsageBatchResult(BaseModel):
    model_config = ConfigDict(extra="ignore")
    received: int
    accepted: int = Field(..., description="Newly stored events (including unattributed ones)")
    duplicates: list[int] = Field(
        ..., description="Indexes of events already stored (or repeated in the batch)"
    )
    unattributed: list[int] = Field(
        ..., description="Indexes of stored events that match no customer; they count nowhere"
    )
    rejected: list[RejectedEvent]
    refused_keys: list[RefusedKey] | None = Field(
        None,
        description="Stored events (also in `unattributed`) whose API key was refused at the time of the call (revoked, expired, subscription inactive, past_due beyond its grace): never billed",
    )


class UserOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    email: str
    name: str | None
    is_admin: bool
    created_at: datetime


class VerifyResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")
    valid: bool
    key_id: str | None
    customer_id: str | None = Field(..., description="The owner's Stripe customer id, if any.")
    subscription_status: str | None
    plan: PlanOut | None
    reason: str | None = Field(
        ...,
        description="Null when valid; else unknown_key, revoked, expired, no_subscription, subscription_inactive or past_due_grace_expired.",
    )


class WebhookAck(BaseModel):
    model_config = ConfigDict(extra="ignore")
    received: bool | None = True
    duplicate: bool | None = False


class WebhookActivity(BaseModel):
    model_config = ConfigDict(extra="ignore")
    url: str = Field(..., description="Paste this into Stripe (Developers -> Webhooks) as the endpoint URL")
    signing_secret_set: bool
    previous_secret_accepted_until: datetime | None = Field(
        None,
        description="After a rotation, deliveries signed with the replaced secret are accepted until then",
    )
    last_received_at: datetime | None
    received_last_24h: int
    arriving: bool = Field(..., description="An event arrived in the last 24 hours")


class WebhookInboxHealth(BaseModel):
    model_config = ConfigDict(extra="ignore")
    pending: int = Field(..., description="Received events not applied yet that will be (re)tried")
    failed: int = Field(..., description="Events not applied whose attempts are used up")
    last_received_at: datetime | None


class AdminHealth(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Literal["ok", "degraded"]
    checked_at: datetime
    database: DatabaseHealth
    stripe: StripeHealth
    webhook_inbox: WebhookInboxHealth
    reporting: ReportingHealth
    ingest: IngestHealth


class AdminTokenList(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: list[AdminTokenOut]


class AuthResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user: UserOut
    token: str = Field(..., description="The session token; also set as an HttpOnly cookie. Send as Bearer.")
    expires_at: datetime


class BillingProviderOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    provider: Literal["stripe"]
    source: Literal["database", "environment"] = Field(
        ...,
        description="database: saved in the console (wins over STRIPE_*); environment: taken from the STRIPE_* settings at start-up and not edited here since",
    )
    secret_key_set: bool
    secret_key_last4: str | None
    mode: Literal["live", "test"] | None
    publishable_key: str | None
    api_version: str
    reporting: Literal["usage_records", "billing_meters"] = Field(
        ..., description="usage_records before 2025-03-31.basil, billing_meters from it on"
    )
    webhook: WebhookActivity
    updated_at: datetime | None
    updated_by: str | None


class CheckoutCompleted(BaseModel):
    model_config = ConfigDict(extra="ignore")
    customer: CheckoutCustomerOut | None
    subscription: ProvisionedSubscriptionOut | None
    keys_created: int
    key: NewKeyOut | None


class CollectorTokenList(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: list[CollectorTokenOut]


class CustomerDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user_id: str
    email: str
    name: str | None
    stripe_customer_id: str | None
    subscription: CustomerSubscriptionOut
    usage: list[MeterUsageOut]
    last_reports: list[ReportOut]
    subscriptions: list[CustomerSubscriptionOut]


class CustomerList(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: list[ReportingCustomerOut]
    total: int
    limit: int
    offset: int


class Estimate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    amount: int
    currency: str | None
    period_start: datetime | None
    period_end: datetime | None
    lines: list[EstimateLine]


class KeyList(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: list[KeyOut]


class MeterCoverage(BaseModel):
    """
    Which metered prices of the live catalog the meters bill: none (`unbilled`) or too many.
    """

    model_config = ConfigDict(extra="ignore")
    unbilled: list[UnbilledPrice]
    double_metered: list[DoubleMeteredPrice]


class MeterList(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: list[MeterOut]


class MeterTestEventOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    meter_id: str
    event: SyntheticEventOut | None = Field(..., description="An event the meter's filters accept, or null")
    reason: str | None = Field(..., description="Why no event can match the filters, when none can")


class MeterTestOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    passed: bool = Field(..., alias="pass")
    reason: str | None = Field(..., description="Why it failed, in one sentence")
    meter_id: str
    price_id: str
    api_version: str
    mode: Literal["test", "live"] = Field(
        ...,
        description="test: a synthetic event for the Meter Test's own customer and subscription; live: nothing is sent, an existing subscription's invoice preview is compared with our ledger",
    )
    event: SyntheticEventOut | None = Field(
        None, description="The synthetic event sent (in live mode: the one that would be)"
    )
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    customer_id: str | None = None
    currency: str | None = None
    ours: OurSide | None = None
    stripe: StripeSide | None = None
    difference: int | None = Field(None, description="Stripe's amount minus ours, in minor units")
    run_id: str | None = None
    checks: list[Check]


class MeterUsage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    meter_id: str
    name: str
    price_id: str = Field(
        ..., description="The Stripe price this meter bills, an item of the customer's subscription"
    )
    price_nickname: str | None
    metric: str
    charge_by: str
    series: list[SeriesPoint]
    period_start: datetime
    period_end: datetime
    period_value: int | float
    estimated_amount: int | None = Field(
        ..., description="Minor units of `currency`; null when the price is unavailable"
    )
    currency: str | None


class Plan(BaseModel):
    model_config = ConfigDict(extra="ignore")
    price_id: str
    product_id: str
    product_name: str | None
    product_description: str | None
    nickname: str | None
    lookup_key: str | None = None
    currency: str
    unit_amount: int | None
    unit_amount_decimal: str | None = None
    billing_scheme: str
    tiers: list[Tier] | None
    tiers_mode: str | None
    transform_quantity: TransformQuantity | None
    interval: str
    interval_count: int
    usage_type: str
    aggregate_usage: str | None
    meter: str | None
    metered_by_portal: bool | None = Field(
        False,
        description="True when an active meter of this portal counts the price's usage and reports it to Stripe; a metered price without one bills no usage. Always false for licensed prices.",
    )


class PlanChangePreviewOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    subscription_id: str
    from_price_id: str
    price_id: str
    proration: Literal["create_prorations", "none", "always_invoice"]
    currency: str
    proration_date: datetime | None = Field(..., description="The moment Stripe prorates the switch as of")
    proration_amount: int = Field(
        ...,
        description="Stripe's proration lines summed: charge for the new plan's remaining time minus the credit for the current plan's unused time (negative: a credit)",
    )
    invoice_now: bool = Field(..., description="True: Stripe invoices the switch at once (always_invoice)")
    invoice_amount_due: int = Field(
        ...,
        description="What the invoice the switch lands on asks for: the one made now (invoice_now), else the next one, at the period end, with the proration on it",
    )
    invoice_date: datetime | None
    lines: list[PreviewLineOut]
    preview_token: str = Field(..., description="Pass to POST /v1/subscription/change to switch as previewed")
    expires_at: datetime


class PlanList(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: list[Plan]


class ReconciliationRunList(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: list[ReconciliationRunOut]


class ReportRunList(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: list[ReportRunOut]
    lag_seconds: int | None = Field(..., description="The latest finished run's lag")


class UpcomingInvoiceOut(BaseModel):
    model_config = ConfigDict(extra="ignore")
    subscription_id: str
    stripe: StripeInvoicePreview
    estimate: Estimate


class UsageReport(BaseModel):
    model_config = ConfigDict(extra="ignore")
    from_: datetime = Field(..., alias="from")
    to: datetime
    granularity: str
    subscription_id: str | None = Field(
        ...,
        description="The Stripe subscription whose prices the meters bill; null (and no meters) without one",
    )
    meters: list[MeterUsage] = Field(
        ...,
        description="The active meters billing the subscription's prices, each estimated with its own price",
    )
