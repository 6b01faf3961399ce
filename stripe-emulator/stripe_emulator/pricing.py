"""Stripe's pricing math as pure functions over Stripe-shaped price dicts (amounts in minor units).

A price dict carries ``billing_scheme`` (``per_unit`` | ``tiered``), ``unit_amount`` or
``unit_amount_decimal``, optional ``transform_quantity`` ``{divide_by, round: up|down}``, and for tiered
prices ``tiers_mode`` (``graduated`` | ``volume``) and ``tiers`` ``[{up_to: int | "inf" | None,
unit_amount, unit_amount_decimal, flat_amount, flat_amount_decimal}]``. Quantities may be Decimal (meter
sums); the amount is rounded half-up to an integer once, at the end.

Quantity 0 lands in the first tier: a graduated or volume price whose first tier has a flat amount
charges that flat amount even without usage.
"""

from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

Quantity = int | Decimal


def amount_for_quantity(price: Mapping[str, Any], quantity: Quantity) -> int:
    """The amount Stripe bills for ``quantity`` units of ``price``."""
    return round_amount(exact_amount(price, quantity))


def exact_amount(price: Mapping[str, Any], quantity: Quantity) -> Decimal:
    """The unrounded amount, for callers that sum several parts before rounding."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    if price.get("billing_scheme", "per_unit") == "tiered":
        tiers = price.get("tiers") or []
        if price.get("tiers_mode") == "volume":
            return volume_amount(tiers, quantity)
        return graduated_amount(tiers, quantity)
    billed = transform_quantity(quantity, price.get("transform_quantity"))
    return Decimal(billed) * unit_amount(price)


def transform_quantity(quantity: Quantity, transform: Mapping[str, Any] | None) -> Quantity:
    """Package pricing: divide by ``divide_by`` and round ``up`` or ``down`` to a whole package."""
    if not transform:
        return quantity
    divide_by = int(transform["divide_by"])
    rounding = ROUND_CEILING if transform.get("round") == "up" else ROUND_FLOOR
    return int((Decimal(quantity) / divide_by).to_integral_value(rounding=rounding))


def graduated_amount(tiers: list[Mapping[str, Any]], quantity: Quantity) -> Decimal:
    """Each unit at the rate of the tier it falls in; each tier reached adds its flat amount."""
    total = Decimal(0)
    lower: Quantity = 0
    for index, tier in enumerate(tiers):
        upper = tier_upper(tier)
        if index > 0 and quantity <= lower:
            break
        in_tier = quantity - lower if upper is None else min(quantity, upper) - lower
        total += Decimal(in_tier) * unit_amount(tier) + flat_amount(tier)
        if upper is None:
            break
        lower = upper
    return total


def volume_amount(tiers: list[Mapping[str, Any]], quantity: Quantity) -> Decimal:
    """All units at the rate of the tier the total lands in, plus that tier's flat amount."""
    for tier in tiers:
        upper = tier_upper(tier)
        if upper is None or quantity <= upper:
            return Decimal(quantity) * unit_amount(tier) + flat_amount(tier)
    raise ValueError("tiers must end with an `inf` tier")


def tier_upper(tier: Mapping[str, Any]) -> int | None:
    up_to = tier.get("up_to")
    if up_to is None or up_to == "inf":
        return None
    return int(up_to)


def unit_amount(source: Mapping[str, Any]) -> Decimal:
    if source.get("unit_amount_decimal") not in (None, ""):
        return Decimal(str(source["unit_amount_decimal"]))
    return Decimal(source.get("unit_amount") or 0)


def flat_amount(tier: Mapping[str, Any]) -> Decimal:
    if tier.get("flat_amount_decimal") not in (None, ""):
        return Decimal(str(tier["flat_amount_decimal"]))
    return Decimal(tier.get("flat_amount") or 0)


def round_amount(amount: Decimal) -> int:
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))
