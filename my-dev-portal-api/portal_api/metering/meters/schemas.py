"""Request and response bodies for the admin meter routes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal_api.metering.meters.metrics import ChargeBy
from portal_api.metering.models import Meter

FILTERS_DOC = (
    "A JSON tree: {'and': [...]} / {'or': [...]} groups of {'field', 'op', 'value'} conditions; "
    "see portal_api/metering/meters/filters.py"
)


class MeterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    provider: Literal["stripe"] = "stripe"
    stripe_product_id: str | None = Field(default=None, max_length=255)
    stripe_price_id: str = Field(min_length=1, max_length=255)
    filters: Any = Field(default=None, description=FILTERS_DOC)
    metric: Any = Field(default_factory=lambda: {"type": "event_count"})
    charge_by: ChargeBy | None = Field(default=None, description="Defaults to what the price aggregates by")
    active: bool = True


class MeterUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    stripe_product_id: str | None = Field(default=None, max_length=255)
    stripe_price_id: str | None = Field(default=None, min_length=1, max_length=255)
    filters: Any = Field(default=None, description=FILTERS_DOC)
    metric: Any = None
    charge_by: ChargeBy | None = None
    active: bool | None = None


class MeterOut(BaseModel):
    id: str
    name: str
    provider: str
    stripe_product_id: str
    stripe_price_id: str
    price_nickname: str | None
    currency: str | None
    filters: Any
    metric: Any
    charge_by: ChargeBy
    active: bool
    version: int
    rebuilt_at: datetime | None
    rebuilt_from: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, meter: Meter) -> MeterOut:
        return cls(
            id=meter.id,
            name=meter.name,
            provider=meter.provider,
            stripe_product_id=meter.stripe_product_id,
            stripe_price_id=meter.stripe_price_id,
            price_nickname=meter.price_nickname,
            currency=meter.price_currency,
            filters=json.loads(meter.filters) if meter.filters else None,
            metric=json.loads(meter.metric),
            charge_by=ChargeBy(meter.charge_by),
            active=meter.active,
            version=meter.version,
            rebuilt_at=meter.rebuilt_at,
            rebuilt_from=meter.rebuilt_from,
            created_at=meter.created_at,
            updated_at=meter.updated_at,
        )


class MeterList(BaseModel):
    data: list[MeterOut]


class UnbilledPrice(BaseModel):
    """An active recurring metered Stripe price that no active meter bills: its usage never reaches Stripe."""

    price_id: str
    product_id: str
    product_name: str | None
    nickname: str | None
    lookup_key: str | None
    currency: str
    inactive_meter_ids: list[str] = Field(description="Meters on this price that are switched off")


class DoubleMeteredPrice(BaseModel):
    """A price more than one active meter bills (made before that was refused): its usage is billed twice."""

    price_id: str
    nickname: str | None
    meter_ids: list[str]


class MeterCoverage(BaseModel):
    """Which metered prices of the live catalog the meters bill: none (`unbilled`) or too many."""

    unbilled: list[UnbilledPrice]
    double_metered: list[DoubleMeteredPrice]
