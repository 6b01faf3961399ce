"""Response bodies of GET /v1/plans: one entry per recurring price, amounts in minor units of `currency`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Tier(BaseModel):
    up_to: int | None  # None: the last tier, "inf" in Stripe
    unit_amount: int | None
    unit_amount_decimal: str | None = None
    flat_amount: int | None


class TransformQuantity(BaseModel):
    divide_by: int
    round: str


class Plan(BaseModel):
    price_id: str
    product_id: str
    product_name: str | None
    product_description: str | None
    nickname: str | None
    lookup_key: str | None = None
    currency: str
    unit_amount: int | None
    # Sub-cent prices ("0.1" cents per call) have no integer unit_amount; the decimal string is exact.
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
    metered_by_portal: bool = Field(
        default=False,
        description="True when an active meter of this portal counts the price's usage and reports it to "
        "Stripe; a metered price without one bills no usage. Always false for licensed prices.",
    )


class PlanList(BaseModel):
    data: list[Plan]
