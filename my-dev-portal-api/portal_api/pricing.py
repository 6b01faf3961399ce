"""Stripe's pricing math: what a price charges for a quantity, in integer minor units of its currency.

Covers every shape a Stripe price can take for usage billing:

- per unit: quantity x unit_amount (or unit_amount_decimal, up to 12 decimal places of a minor unit);
- package: per unit with transform_quantity {divide_by, round: up|down}: whole packages x unit_amount
  ("$10 per 1,000 calls": 2,500 calls round up to 3 packages = $30);
- tiered graduated: each unit priced by the tier it falls in, plus the flat amount of every tier reached;
- tiered volume: every unit priced by the tier the total lands in, plus that tier's flat amount.

Arithmetic is exact (fractions); the total is rounded once, half up, to a whole minor unit. A quantity of
zero still lands in the first tier, so a first-tier flat fee is charged without usage, as Stripe does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

Quantity = int | Decimal


class PriceShapeError(ValueError):
    """The price dict cannot be priced (for example tiers without a final `inf` tier)."""


@dataclass(frozen=True)
class Tier:
    up_to: Fraction | None  # None is "inf"
    unit: Fraction
    flat: Fraction


def amount_for_quantity(price: Mapping[str, Any], quantity: Quantity) -> int:
    """The amount, in minor units, that `price` charges for `quantity` units."""
    if quantity < 0:
        raise PriceShapeError("quantity must not be negative")
    units = Fraction(quantity)
    if price.get("billing_scheme") == "tiered":
        tiers = parse_tiers(price.get("tiers") or [])
        mode = price.get("tiers_mode") or "graduated"
        if mode == "volume":
            exact = _volume(tiers, units)
        elif mode == "graduated":
            exact = _graduated(tiers, units)
        else:
            raise PriceShapeError(f"unknown tiers_mode {mode!r}")
    else:
        exact = package_count(units, price.get("transform_quantity")) * _decimal_field(price, "unit_amount")
    return round_half_up(exact)


def package_count(units: Fraction, transform: Mapping[str, Any] | None) -> Fraction:
    """Units after transform_quantity: whole packages, rounded up or down; unchanged without a transform."""
    if not transform:
        return units
    divide_by = int(transform["divide_by"])
    if divide_by <= 0:
        raise PriceShapeError("transform_quantity.divide_by must be positive")
    whole, remainder = divmod(units, divide_by)
    if remainder and transform.get("round") == "up":
        whole += 1
    return Fraction(whole)


def parse_tiers(raw: Sequence[Mapping[str, Any]]) -> list[Tier]:
    if not raw:
        raise PriceShapeError("a tiered price needs tiers")
    tiers = []
    for tier in raw:
        up_to = tier.get("up_to")
        bound = None if up_to in (None, "inf") else Fraction(int(up_to))
        tiers.append(Tier(bound, _decimal_field(tier, "unit_amount"), _decimal_field(tier, "flat_amount")))
    if tiers[-1].up_to is not None:
        raise PriceShapeError("the last tier must be up_to=inf")
    return tiers


def _graduated(tiers: list[Tier], units: Fraction) -> Fraction:
    total = Fraction(0)
    floor = Fraction(0)
    for position, tier in enumerate(tiers):
        reached = position == 0 or units > floor
        if not reached:
            break
        ceiling = units if tier.up_to is None else min(units, tier.up_to)
        total += tier.flat + max(ceiling - floor, Fraction(0)) * tier.unit
        if tier.up_to is None:
            break
        floor = tier.up_to
    return total


def _volume(tiers: list[Tier], units: Fraction) -> Fraction:
    tier = next(t for t in tiers if t.up_to is None or units <= t.up_to)
    return tier.flat + units * tier.unit


def _decimal_field(source: Mapping[str, Any], name: str) -> Fraction:
    """`name_decimal` (a string with up to 12 decimals) wins over the integer `name` when present."""
    precise = source.get(f"{name}_decimal")
    if precise not in (None, ""):
        return Fraction(Decimal(str(precise)))
    return Fraction(int(source.get(name) or 0))


def round_half_up(amount: Fraction) -> int:
    """Nearest integer, halves away from zero (amounts are never negative here)."""
    whole, remainder = divmod(amount, 1)
    return int(whole) + (1 if remainder >= Fraction(1, 2) else 0)
