"""pricing.py: Stripe's pricing math as pure functions (the API property-tests its own against these)."""

from decimal import Decimal

import pytest

from stripe_emulator.pricing import amount_for_quantity

PER_UNIT = {"billing_scheme": "per_unit", "unit_amount": 25}
PACKAGE_UP = {
    "billing_scheme": "per_unit",
    "unit_amount": 1000,
    "transform_quantity": {"divide_by": 1000, "round": "up"},
}
PACKAGE_DOWN = {**PACKAGE_UP, "transform_quantity": {"divide_by": 1000, "round": "down"}}
GRADUATED = {
    "billing_scheme": "tiered",
    "tiers_mode": "graduated",
    "tiers": [
        {"up_to": 100, "unit_amount": 10, "flat_amount": 500},
        {"up_to": 200, "unit_amount": 5, "flat_amount": 100},
        {"up_to": None, "unit_amount": 1},
    ],
}
VOLUME = {
    "billing_scheme": "tiered",
    "tiers_mode": "volume",
    "tiers": [{"up_to": 50, "unit_amount": 10}, {"up_to": "inf", "unit_amount": 7, "flat_amount": 300}],
}


@pytest.mark.parametrize(("quantity", "amount"), [(0, 0), (1, 25), (40, 1000)])
def test_per_unit_is_quantity_times_unit_amount(quantity, amount):
    assert amount_for_quantity(PER_UNIT, quantity) == amount


@pytest.mark.parametrize(
    ("quantity", "amount"), [(0, 0), (1, 1000), (1000, 1000), (2500, 3000), (2001, 3000)]
)
def test_package_rounds_up_to_whole_packages(quantity, amount):
    assert amount_for_quantity(PACKAGE_UP, quantity) == amount


@pytest.mark.parametrize(("quantity", "amount"), [(999, 0), (2500, 2000), (3000, 3000)])
def test_package_rounds_down_to_whole_packages(quantity, amount):
    assert amount_for_quantity(PACKAGE_DOWN, quantity) == amount


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        (0, 500),  # quantity 0 lands in the first tier: its flat amount is charged
        (100, 100 * 10 + 500),
        (150, 100 * 10 + 500 + 50 * 5 + 100),
        (250, 100 * 10 + 500 + 100 * 5 + 100 + 50 * 1),
    ],
)
def test_graduated_tiers_price_each_unit_in_its_tier_and_add_each_touched_flat(quantity, amount):
    assert amount_for_quantity(GRADUATED, quantity) == amount


@pytest.mark.parametrize(("quantity", "amount"), [(10, 100), (50, 500), (51, 51 * 7 + 300), (100, 1000)])
def test_volume_tiers_price_all_units_at_the_landing_tier_plus_its_flat(quantity, amount):
    assert amount_for_quantity(VOLUME, quantity) == amount


def test_stripe_notes_examples():
    graduated = {
        "billing_scheme": "tiered",
        "tiers_mode": "graduated",
        "tiers": [{"up_to": 100, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 500}],
    }
    volume = {
        "billing_scheme": "tiered",
        "tiers_mode": "volume",
        "tiers": [{"up_to": 50, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 700}],
    }
    assert amount_for_quantity(graduated, 150) == 125_000
    assert amount_for_quantity(volume, 100) == 70_000


def test_decimal_unit_amount_rounds_half_up_once():
    price = {"billing_scheme": "per_unit", "unit_amount_decimal": "0.5"}
    assert amount_for_quantity(price, 3) == 2  # 1.5 -> 2
    assert amount_for_quantity(price, Decimal("2.5")) == 1  # 1.25 -> 1
