"""Money and price descriptions: integer minor units, any currency, every Stripe pricing model."""

from __future__ import annotations

from decimal import Decimal

import pytest

from my_dev_portal.prices import billing_cadence, describe_plan, format_count, format_money
from tests.portal.api_objects import plan, tier


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (2, "usd", "$0.02"),
        (1000, "usd", "$10.00"),
        (123456789, "usd", "$1,234,567.89"),
        (0, "eur", "€0.00"),
        (500, "jpy", "¥500"),
        (1500, "JPY", "¥1,500"),
        (1000, "krw", "₩1,000"),
        (1234, "kwd", "1.234 KWD"),
        (995, "chf", "9.95 CHF"),
        (-250, "gbp", "-£2.50"),
        (Decimal("0.5"), "usd", "$0.005"),
        (Decimal("12.345"), "usd", "$0.12345"),
        (Decimal("2900"), "usd", "$29.00"),
        (Decimal("0.5"), "jpy", "¥0.5"),
    ],
)
def test_money_is_formatted_from_minor_units_per_currency(
    amount: int | Decimal, currency: str, expected: str
) -> None:
    assert format_money(amount, currency) == expected


def test_counts_read_decimal_strings_as_the_api_sends_them() -> None:
    assert [format_count(v) for v in ("1500", "1500.0", "1502.25", 12, 2.5)] == [
        "1,500",
        "1,500",
        "1,502.25",
        "12",
        "2.50",
    ]


def test_cadence_names_multi_interval_periods() -> None:
    assert billing_cadence("month", 1) == "per month"
    assert billing_cadence("month", 3) == "every 3 months"
    assert billing_cadence("year", 1) == "per year"


def test_licensed_flat_price_reads_as_amount_per_interval() -> None:
    view = describe_plan(plan(unit_amount=2900, usage_type="licensed"))
    assert (view.headline, view.cadence, view.usage_type) == ("$29.00", "per month", "Licensed")


def test_metered_per_unit_price_reads_per_call_billed_on_usage() -> None:
    view = describe_plan(plan(unit_amount=2, usage_type="metered", aggregate_usage="sum"))
    assert view.headline == "$0.02 per call"
    assert view.cadence == "per month, billed on usage"
    assert view.usage_type == "Metered"


def test_sub_cent_price_reads_from_unit_amount_decimal() -> None:
    """Stripe sends unit_amount null and unit_amount_decimal "0.5" for half a cent per call."""
    view = describe_plan(plan(unit_amount=None, unit_amount_decimal="0.5", usage_type="metered"))
    assert view.headline == "$0.005 per call"


def test_unit_amount_decimal_wins_over_the_rounded_unit_amount() -> None:
    view = describe_plan(plan(unit_amount=2, unit_amount_decimal="2.25", usage_type="metered"))
    assert view.headline == "$0.0225 per call"


def test_sub_cent_tiers_and_packages_keep_their_fraction() -> None:
    view = describe_plan(
        plan(
            usage_type="metered",
            billing_scheme="tiered",
            tiers_mode="graduated",
            tiers=[
                tier(up_to=1000, unit_amount=0, unit_amount_decimal="0"),
                tier(up_to=None, unit_amount=None, unit_amount_decimal="0.25", flat_amount=100),
            ],
        )
    )
    assert [row.price for row in view.tiers] == ["$0.00 per call", "$0.0025 per call + $1.00 flat"]
    package = describe_plan(
        plan(
            usage_type="metered",
            unit_amount_decimal="0.5",
            transform_quantity={"divide_by": 1000, "round": "down"},
        )
    )
    assert package.headline == "$0.005 per 1,000 calls"


def test_package_price_reads_per_thousand_calls_with_rounding() -> None:
    view = describe_plan(
        plan(unit_amount=1000, usage_type="metered", transform_quantity={"divide_by": 1000, "round": "up"})
    )
    assert view.headline == "$10.00 per 1,000 calls"
    assert view.notes == ["Billed in packages of 1,000; partial packages are rounded up."]


def test_graduated_tiers_read_first_next_over() -> None:
    view = describe_plan(
        plan(
            usage_type="metered",
            billing_scheme="tiered",
            tiers_mode="graduated",
            tiers=[
                tier(up_to=1000, unit_amount=0),
                tier(up_to=10000, unit_amount=2),
                tier(up_to=None, unit_amount=1, flat_amount=500),
            ],
        )
    )
    assert [(row.units, row.price) for row in view.tiers] == [
        ("First 1,000", "$0.00 per call"),
        ("Next 9,000", "$0.02 per call"),
        ("Over 10,000", "$0.01 per call + $5.00 flat"),
    ]
    assert view.headline == "Starts at $0.00 per call"
    assert "Graduated" in view.tier_heading
    assert "First 1,000: $0.00 per call" in view.summary


def test_volume_tiers_read_as_ranges_every_3_months() -> None:
    view = describe_plan(
        plan(
            usage_type="metered",
            billing_scheme="tiered",
            tiers_mode="volume",
            interval_count=3,
            tiers=[tier(up_to=100, unit_amount=5), tier(up_to=None, unit_amount=3)],
        )
    )
    assert [(row.units, row.price) for row in view.tiers] == [
        ("1\u2013100", "$0.05 per call"),
        ("101 and above", "$0.03 per call"),
    ]
    assert view.cadence == "every 3 months, billed on usage"
    assert "Volume" in view.tier_heading


def test_flat_only_tier_and_zero_decimal_currency() -> None:
    view = describe_plan(
        plan(
            currency="jpy",
            billing_scheme="tiered",
            tiers_mode="graduated",
            tiers=[tier(up_to=10, flat_amount=1000), tier(up_to=None, unit_amount=50)],
        )
    )
    assert [row.price for row in view.tiers] == ["¥1,000 flat", "¥50 per call"]


def test_peak_usage_and_unit_label() -> None:
    view = describe_plan(plan(unit_amount=100, usage_type="metered", aggregate_usage="max"), unit="seat")
    assert view.headline == "$1.00 per seat"
    assert view.cadence == "per month, billed on the period's peak usage"
