"""Stripe prices in words, from minor units (fractions of a cent too), as Stripe's pricing pages say them."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal

from my_dev_portal.api_client import Plan, Tier

# Stripe's zero-decimal and three-decimal currencies: amounts are in these minor units.
# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

# Prefix symbols that are unambiguous; every other currency is written with its ISO code after the amount.
_SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "inr": "₹",
    "krw": "₩",
    "cny": "CN¥",
    "cad": "CA$",
    "aud": "A$",
    "nzd": "NZ$",
    "hkd": "HK$",
    "brl": "R$",
    "mxn": "MX$",
}

DEFAULT_UNIT = "call"
EN_DASH = "\u2013"


def currency_decimals(currency: str) -> int:
    """How many digits of `currency`'s minor unit follow the decimal point."""
    code = currency.lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def format_money(amount: int | Decimal, currency: str) -> str:
    """`amount` in `currency`'s minor units, for people: 1234, "usd" -> "$12.34"; 500, "jpy" -> "¥500".

    A fraction of a minor unit keeps its digits: Decimal("0.5"), "usd" -> "$0.005".
    """
    decimals = currency_decimals(currency)
    value = abs(Decimal(amount)).scaleb(-decimals)
    exponent = value.normalize().as_tuple().exponent
    places = max(decimals, -exponent if isinstance(exponent, int) else 0)
    number = f"{value:,.{places}f}"
    sign = "-" if amount < 0 else ""
    code = currency.lower()
    if code in _SYMBOLS:
        return f"{sign}{_SYMBOLS[code]}{number}"
    return f"{sign}{number} {code.upper()}"


def format_count(value: float | Decimal | str) -> str:
    """A quantity with thousands separators; whole numbers without decimals.

    The API sends quantities as decimal strings ("1500.5"), counts as numbers.
    """
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,.2f}"


def unit_amount(price: Plan | Tier) -> Decimal:
    """The price of one unit in minor units: Stripe's `unit_amount_decimal` when set, which can be a
    fraction of a cent ("0.5"), else `unit_amount`."""
    if price.unit_amount_decimal is not None:
        return Decimal(price.unit_amount_decimal)
    return Decimal(price.unit_amount or 0)


def format_date(moment: datetime | None) -> str:
    """A calendar date such as "Nov 24, 2025", or "" when unknown."""
    if moment is None:
        return ""
    return f"{moment:%b} {moment.day}, {moment.year}"


def plural(unit: str, count: int = 2) -> str:
    if count == 1 or unit.endswith("s"):
        return unit
    return unit + "s"


def billing_cadence(interval: str, interval_count: int) -> str:
    """ "per month", or "every 3 months"."""
    if interval_count == 1:
        return f"per {interval}"
    return f"every {interval_count} {plural(interval)}"


@dataclasses.dataclass
class TierRow:
    """One line of a tier table: which units, and what they cost."""

    units: str = ""
    price: str = ""


@dataclasses.dataclass
class PlanView:
    """A plan as the pricing table shows it; every string is ready to display."""

    price_id: str = ""
    # The price's nickname when it has one ("Pay as you go"), else the product's name.
    title: str = ""
    product_name: str = ""
    nickname: str = ""
    description: str = ""
    headline: str = ""
    cadence: str = ""
    usage_type: str = ""
    tier_heading: str = ""
    tiers: list[TierRow] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def summary(self) -> str:
        """The plan in one line of text."""
        parts = [self.headline, self.cadence]
        parts += [f"{row.units}: {row.price}" for row in self.tiers]
        return " · ".join(part for part in parts if part)


def _unit_price(price: Plan | Tier, currency: str, unit: str) -> str:
    return f"{format_money(unit_amount(price), currency)} per {unit}"


def _tier_price(tier: Tier, currency: str, unit: str) -> str:
    if tier.flat_amount and not unit_amount(tier):
        return f"{format_money(tier.flat_amount, currency)} flat"
    price = _unit_price(tier, currency, unit)
    if tier.flat_amount:
        price += f" + {format_money(tier.flat_amount, currency)} flat"
    return price


def tier_rows(plan: Plan, unit: str) -> list[TierRow]:
    """The tier table: graduated as "First 1,000 / Next 9,000 / Over 10,000", volume as ranges."""
    rows: list[TierRow] = []
    previous = 0
    for index, tier in enumerate(plan.tiers or []):
        price = _tier_price(tier, plan.currency, unit)
        if plan.tiers_mode == "volume":
            if tier.up_to is None:
                units = f"{previous + 1:,} and above"
            else:
                units = f"{previous + 1:,}{EN_DASH}{tier.up_to:,}"
        elif tier.up_to is None:
            units = f"Over {previous:,}" if index else f"Every {unit}"
        elif index == 0:
            units = f"First {tier.up_to:,}"
        else:
            units = f"Next {tier.up_to - previous:,}"
        rows.append(TierRow(units=units, price=price))
        previous = tier.up_to or previous
    return rows


def _usage_cadence(plan: Plan) -> str:
    cadence = billing_cadence(plan.interval, plan.interval_count)
    if plan.usage_type != "metered":
        return cadence
    if plan.aggregate_usage == "max":
        return f"{cadence}, billed on the period's peak usage"
    if plan.aggregate_usage in ("last_during_period", "last_ever"):
        return f"{cadence}, billed on the last usage reported"
    return f"{cadence}, billed on usage"


def describe_plan(plan: Plan, unit: str = DEFAULT_UNIT) -> PlanView:
    """Everything the pricing table says about `plan`, whose usage is counted in `unit`s."""
    metered = plan.usage_type == "metered"
    notes: list[str] = []
    rows: list[TierRow] = []
    tier_heading = ""
    if plan.billing_scheme == "tiered":
        rows = tier_rows(plan, unit)
        headline = f"Starts at {rows[0].price}" if rows else "Tiered pricing"
        if plan.tiers_mode == "volume":
            tier_heading = f"Volume pricing: the total reached prices every {unit}"
        else:
            tier_heading = f"Graduated pricing: each {unit} is priced by its tier"
    elif plan.transform_quantity and plan.transform_quantity.divide_by > 1:
        package = plan.transform_quantity.divide_by
        headline = f"{format_money(unit_amount(plan), plan.currency)} per {package:,} {plural(unit)}"
        direction = "up" if plan.transform_quantity.round == "up" else "down"
        notes.append(f"Billed in packages of {package:,}; partial packages are rounded {direction}.")
    elif metered:
        headline = _unit_price(plan, plan.currency, unit)
    else:
        headline = format_money(unit_amount(plan), plan.currency)
    return PlanView(
        price_id=plan.price_id,
        title=plan.nickname or plan.product_name or "",
        product_name=plan.product_name or "",
        nickname=plan.nickname or "",
        description=plan.product_description or "",
        headline=headline,
        cadence=_usage_cadence(plan),
        usage_type="Metered" if metered else "Licensed",
        tier_heading=tier_heading,
        tiers=rows,
        notes=notes,
    )
