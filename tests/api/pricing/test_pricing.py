"""Pricing math: hand-computed examples, and a property test against the emulator's own implementation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_api.pricing import PriceShapeError, amount_for_quantity
from stripe_emulator.pricing import amount_for_quantity as emulator_amount

GRADUATED = {
    "billing_scheme": "tiered",
    "tiers_mode": "graduated",
    "tiers": [{"up_to": 100, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 500}],
}
VOLUME = {
    "billing_scheme": "tiered",
    "tiers_mode": "volume",
    "tiers": [{"up_to": 50, "unit_amount": 1000}, {"up_to": None, "unit_amount": 700}],
}
PACKAGE = {
    "billing_scheme": "per_unit",
    "unit_amount": 1000,
    "transform_quantity": {"divide_by": 1000, "round": "up"},
}


def test_graduated_150_units_is_100_at_10_plus_50_at_5() -> None:
    assert amount_for_quantity(GRADUATED, 150) == 125_000  # $1,250.00


def test_graduated_inside_first_tier_and_at_its_edge() -> None:
    assert amount_for_quantity(GRADUATED, 100) == 100_000
    assert amount_for_quantity(GRADUATED, 101) == 100_500
    assert amount_for_quantity(GRADUATED, 0) == 0


def test_volume_prices_every_unit_at_the_tier_the_total_lands_in() -> None:
    assert amount_for_quantity(VOLUME, 50) == 50_000
    assert amount_for_quantity(VOLUME, 100) == 70_000  # $700, not 50 x $10 + 50 x $7


def test_package_rounds_up_or_down_to_whole_packages() -> None:
    assert amount_for_quantity(PACKAGE, 2_500) == 3_000  # 3 x $10
    assert amount_for_quantity(PACKAGE, 3_000) == 3_000
    assert amount_for_quantity(PACKAGE, 0) == 0
    down = {**PACKAGE, "transform_quantity": {"divide_by": 1000, "round": "down"}}
    assert amount_for_quantity(down, 2_999) == 2_000


def test_flat_amounts_per_tier_touched() -> None:
    price = {
        "billing_scheme": "tiered",
        "tiers_mode": "graduated",
        "tiers": [
            {"up_to": 10, "unit_amount": 0, "flat_amount": 2_000},
            {"up_to": "inf", "unit_amount": 100, "flat_amount": 500},
        ],
    }
    assert amount_for_quantity(price, 0) == 2_000  # the first tier's flat fee even without usage
    assert amount_for_quantity(price, 10) == 2_000
    assert amount_for_quantity(price, 11) == 2_000 + 500 + 100
    assert amount_for_quantity({**price, "tiers_mode": "volume"}, 11) == 500 + 1_100


def test_unit_amount_decimal_rounds_the_total_half_up() -> None:
    price = {"billing_scheme": "per_unit", "unit_amount_decimal": "0.125"}
    assert amount_for_quantity(price, 3) == 0  # 0.375
    assert amount_for_quantity(price, 4) == 1  # 0.5 rounds up
    assert amount_for_quantity(price, 1_000) == 125
    assert amount_for_quantity({"unit_amount_decimal": "1.5", "unit_amount": 99}, 3) == 5  # decimal wins


def test_per_unit_and_zero_decimal_currencies_are_plain_integers() -> None:
    assert (
        amount_for_quantity({"billing_scheme": "per_unit", "unit_amount": 250, "currency": "jpy"}, 7) == 1_750
    )
    assert amount_for_quantity({"unit_amount": 3}, Decimal("2.5")) == 8  # meter sums may be decimal


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(PriceShapeError):
        amount_for_quantity(
            {"billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": [{"up_to": 5}]}, 1
        )
    with pytest.raises(PriceShapeError):
        amount_for_quantity(GRADUATED, -1)


amounts = st.integers(min_value=0, max_value=1_000_000)
decimal_amounts = st.decimals(
    min_value=0, max_value=100_000, places=12, allow_nan=False, allow_infinity=False
)


@st.composite
def unit_fields(draw: st.DrawFn, prefix: str = "unit_amount") -> dict[str, Any]:
    if draw(st.booleans()):
        return {prefix: draw(amounts)}
    return {f"{prefix}_decimal": str(draw(decimal_amounts))}


@st.composite
def prices(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        price: dict[str, Any] = {"billing_scheme": "per_unit", **draw(unit_fields())}
        if draw(st.booleans()):
            price["transform_quantity"] = {
                "divide_by": draw(st.integers(min_value=1, max_value=10_000)),
                "round": draw(st.sampled_from(["up", "down"])),
            }
        return price
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=1_000_000), min_size=0, max_size=4)))
    tiers = []
    for up_to in [*bounds, "inf"]:
        tier: dict[str, Any] = {"up_to": up_to, **draw(unit_fields())}
        if draw(st.booleans()):
            tier.update(draw(unit_fields("flat_amount")))
        tiers.append(tier)
    return {
        "billing_scheme": "tiered",
        "tiers_mode": draw(st.sampled_from(["graduated", "volume"])),
        "tiers": tiers,
    }


@settings(max_examples=400, deadline=None)
@given(price=prices(), quantity=st.integers(min_value=0, max_value=5_000_000))
def test_matches_the_emulators_independent_math(price: dict[str, Any], quantity: int) -> None:
    assert amount_for_quantity(price, quantity) == emulator_amount(price, quantity)
