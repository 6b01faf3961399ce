"""Response bodies of GET /v1/usage."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


def _number(value: Decimal) -> int | float:
    """Quantities as JSON numbers: integers stay exact, fractions (thousandths) as floats."""
    return int(value) if value == value.to_integral_value() else float(value)


Quantity = Annotated[Decimal, PlainSerializer(_number, return_type=int | float)]


class SeriesPoint(BaseModel):
    start: datetime
    value: Quantity


class MeterUsage(BaseModel):
    meter_id: str
    name: str
    price_id: str = Field(
        description="The Stripe price this meter bills, an item of the customer's subscription"
    )
    price_nickname: str | None
    metric: str
    charge_by: str
    series: list[SeriesPoint]
    period_start: datetime
    period_end: datetime
    period_value: Quantity
    estimated_amount: int | None = Field(
        description="Minor units of `currency`; null when the price is unavailable"
    )
    currency: str | None


class UsageReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    granularity: str
    subscription_id: str | None = Field(
        description="The Stripe subscription whose prices the meters bill; null (and no meters) without one"
    )
    meters: list[MeterUsage] = Field(
        description="The active meters billing the subscription's prices, each estimated with its own price"
    )
