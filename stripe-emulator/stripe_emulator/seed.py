"""The demo catalog: product "My API" with a free, a graduated pay-as-you-go, a package and a Pro plan."""

from typing import Any

from stripe_emulator.resources.billing_meters import create_meter
from stripe_emulator.resources.prices import create_price
from stripe_emulator.resources.products import create_product
from stripe_emulator.store import Store
from stripe_emulator.versions import DEFAULT_VERSION

SEED_MODES = ("classic", "meters")
METER_EVENT_NAME = "api_calls"


def seed_demo(store: Store, mode: str = "classic") -> dict[str, Any]:
    """Create the demo catalog; mode ``meters`` bills metered prices through a Billing Meter."""
    if mode not in SEED_MODES:
        raise ValueError(f"seed mode must be one of {SEED_MODES}")
    product = create_product(store, {"name": "My API", "description": "This is a monetized API"})
    monthly = {"interval": "month", "interval_count": "1"}
    metered: dict[str, Any] = {**monthly, "usage_type": "metered"}
    meter = None
    if mode == "meters":
        meter = create_meter(
            store,
            {
                "display_name": "API calls",
                "event_name": METER_EVENT_NAME,
                "default_aggregation": {"formula": "sum"},
            },
        )
        metered["meter"] = meter["id"]
    else:
        metered["aggregate_usage"] = "sum"
    base = {"product": product["id"], "currency": "usd"}
    free = create_price(
        store,
        {**base, "nickname": "Free", "unit_amount": "0", "lookup_key": "free_monthly", "recurring": monthly},
        DEFAULT_VERSION,
    )
    payg = create_price(
        store,
        {
            **base,
            "nickname": "Pay as you go",
            "lookup_key": "payg_graduated_monthly",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": "1000", "unit_amount": "0"},
                {"up_to": "10000", "unit_amount": "2"},
                {"up_to": "inf", "unit_amount": "1"},
            ],
            "recurring": metered,
        },
        DEFAULT_VERSION,
    )
    package = create_price(
        store,
        {
            **base,
            "nickname": "$10 per 1,000 calls",
            "lookup_key": "package_1000_monthly",
            "unit_amount": "1000",
            "transform_quantity": {"divide_by": "1000", "round": "up"},
            "recurring": metered,
        },
        DEFAULT_VERSION,
    )
    pro = create_price(
        store,
        {**base, "nickname": "Pro", "unit_amount": "2900", "lookup_key": "pro_monthly", "recurring": monthly},
        DEFAULT_VERSION,
    )
    return {
        "product": product["id"],
        "prices": {"free": free["id"], "payg": payg["id"], "package": package["id"], "pro": pro["id"]},
        "meter": meter["id"] if meter else None,
    }
