"""Meter metrics (what one matching event contributes) and charge-by modes, as validated pydantic models.

- event_count: 1 per event;
- unique_users: the distinct end users (the event's user id, else the portal user it was attributed to);
- unique_sessions: the distinct session tokens, or API keys when no session token was sent;
- sum: the sum of a numeric field: `weight`, `metadata.<path>` (`properties.<path>`), or a header.

Values are kept to three decimal places (thousandths) in rollups.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from portal_api.metering.events import EventView
from portal_api.metering.meters.filters import MISSING, PATH_PREFIXES, as_number, field_getter

MILLI = Decimal(1000)


class ChargeBy(StrEnum):
    SUM = "sum_during_period"
    LAST = "last_during_period"
    LAST_EVER = "last_ever"
    MAX = "max_during_period"


# Stripe's legacy `recurring.aggregate_usage` for each mode.
AGGREGATE_USAGE = {
    ChargeBy.SUM: "sum",
    ChargeBy.LAST: "last_during_period",
    ChargeBy.LAST_EVER: "last_ever",
    ChargeBy.MAX: "max",
}


class EventCount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["event_count"]


class UniqueUsers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["unique_users"]


class UniqueSessions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["unique_sessions"]


class SumField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["sum"]
    field: str = Field(min_length=1, max_length=300, description="weight, metadata.<path> or a header")

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value != "weight" and (
            not value.startswith(PATH_PREFIXES) or value.endswith(".") or ".." in value
        ):
            raise ValueError(
                "sum needs a numeric field: weight, metadata.<path> or request/response.headers.<name>"
            )
        return value


Metric = Annotated[EventCount | UniqueUsers | UniqueSessions | SumField, Field(discriminator="type")]
metric_adapter: TypeAdapter[EventCount | UniqueUsers | UniqueSessions | SumField] = TypeAdapter(Metric)


def is_unique(metric: Any) -> bool:
    return isinstance(metric, UniqueUsers | UniqueSessions)


def to_milli(value: Decimal) -> int:
    return int((value * MILLI).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_milli(value: int) -> Decimal:
    return (Decimal(value) / MILLI).normalize() if value % 1000 else Decimal(value // 1000)


def unique_value(metric: Any, event: EventView) -> str | None:
    """The distinct value an event contributes to a unique metric, or None when it has none."""
    if isinstance(metric, UniqueUsers):
        user = event.external_user_id or event.portal_user_id
        return f"u:{user}" if user else None
    if event.session_key:
        return f"s:{event.session_key}"
    return f"k:{event.api_key_id}" if event.api_key_id else None


def sum_reader(metric: SumField) -> Any:
    """The numeric value of the metric's field for an event (0 when absent or not numeric)."""
    if metric.field == "weight":
        return lambda e: Decimal(e.weight)
    get = field_getter(metric.field)

    def read(event: EventView) -> Decimal:
        raw = get(event)
        if raw is MISSING:
            return Decimal(0)
        return as_number(raw) or Decimal(0)

    return read
