"""Check that a Stripe price can bill a meter: recurring, metered, aggregated the way the meter charges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal_api.errors import NotFound, PortalError, Unprocessable
from portal_api.metering.meters.metrics import AGGREGATE_USAGE, ChargeBy

BASIL = "2025-03-31"
# The Billing Meter formula the reporter needs for each mode (see charge_by.py).
METER_FORMULA = {ChargeBy.SUM: "sum", ChargeBy.LAST: "last", ChargeBy.LAST_EVER: "last", ChargeBy.MAX: "last"}
CHARGE_BY_FOR_AGGREGATE = {aggregate: mode for mode, aggregate in AGGREGATE_USAGE.items()}


class BillingUnavailable(PortalError):
    status, code, message = 503, "billing_unavailable", "The Stripe gateway is not configured"


@dataclass(frozen=True)
class CheckedPrice:
    price_id: str
    product_id: str
    nickname: str | None
    currency: str | None
    charge_by: ChargeBy
    price: dict[str, Any]


def _product_id(price: dict[str, Any]) -> str:
    product = price.get("product")
    return str(product.get("id")) if isinstance(product, dict) else str(product or "")


async def check_price(
    gateway: Any,
    api_version: str,
    *,
    price_id: str,
    product_id: str | None,
    charge_by: ChargeBy | None,
) -> CheckedPrice:
    if gateway is None:
        raise BillingUnavailable()
    try:
        price = await gateway.retrieve_price(price_id)
    except NotFound as exc:
        raise NotFound(f"There is no Stripe price {price_id}", code="price_not_found") from exc
    if price.get("deleted"):
        raise NotFound(f"There is no Stripe price {price_id}", code="price_not_found")
    recurring = price.get("recurring")
    if price.get("type") == "one_time" or not isinstance(recurring, dict):
        raise Unprocessable(
            f"Price {price_id} is one-time; a meter needs a recurring price", code="price_not_recurring"
        )
    if recurring.get("usage_type") != "metered":
        raise Unprocessable(
            f"Price {price_id} is licensed (a fixed quantity); a meter needs a metered price",
            code="price_not_metered",
        )
    if price.get("active") is False:
        raise Unprocessable(f"Price {price_id} is archived in Stripe", code="price_inactive")
    actual_product = _product_id(price)
    if product_id and actual_product and product_id != actual_product:
        raise Unprocessable(
            f"Price {price_id} belongs to product {actual_product}, not {product_id}",
            code="price_product_mismatch",
        )

    billing_meter = recurring.get("meter")
    if billing_meter:
        chosen = charge_by or ChargeBy.SUM
        await _check_meter_formula(gateway, str(billing_meter), chosen, price_id)
    elif api_version[:10] >= BASIL:
        raise Unprocessable(
            f"Price {price_id} is metered but has no Billing Meter (recurring.meter), which Stripe "
            f"API {api_version} needs for usage billing",
            code="price_not_metered",
        )
    else:
        aggregate = recurring.get("aggregate_usage") or "sum"
        implied = CHARGE_BY_FOR_AGGREGATE.get(aggregate)
        if implied is None:
            raise Unprocessable(
                f"Price {price_id} has unknown aggregate_usage {aggregate!r}", code="price_not_metered"
            )
        if charge_by is not None and charge_by is not implied:
            raise Unprocessable(
                f"Price {price_id} aggregates usage with {aggregate!r}, which is charge_by "
                f"{implied.value!r}, not {charge_by.value!r}",
                code="charge_by_mismatch",
            )
        chosen = implied
    return CheckedPrice(
        price_id=price_id,
        product_id=actual_product or (product_id or ""),
        nickname=price.get("nickname"),
        currency=price.get("currency"),
        charge_by=chosen,
        price=price,
    )


async def _check_meter_formula(gateway: Any, meter_id: str, charge_by: ChargeBy, price_id: str) -> None:
    try:
        meter = await gateway.raw("get", f"/v1/billing/meters/{meter_id}")
    except NotFound as exc:
        raise Unprocessable(
            f"Price {price_id} points at Billing Meter {meter_id}, which does not exist",
            code="price_not_metered",
        ) from exc
    formula = ((meter or {}).get("default_aggregation") or {}).get("formula")
    needed = METER_FORMULA[charge_by]
    if formula and formula != needed:
        raise Unprocessable(
            f"Billing Meter {meter_id} aggregates with {formula!r}; charge_by {charge_by.value!r} needs a "
            f"{needed!r} meter (max and last_ever are computed here and sent to a 'last' meter)",
            code="charge_by_mismatch",
        )
