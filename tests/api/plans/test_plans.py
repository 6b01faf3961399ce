"""GET /v1/plans: the demo catalog from the emulator, shaped, sorted and cached briefly."""

from __future__ import annotations

from typing import Any

import httpx

from portal_api.main import services_of
from stripe_emulator.testing import EmulatorServer
from tests.api.checkout.flow import error_of
from tests.fixtures.members import ADMIN


async def test_plans_list_the_demo_catalog_with_concrete_values(
    api: httpx.AsyncClient, catalog: dict[str, Any]
) -> None:
    response = await api.get("/v1/plans")

    assert response.status_code == 200
    plans = response.json()["data"]
    assert [p["price_id"] for p in plans] == [
        catalog["prices"]["free"],
        catalog["prices"]["payg"],
        catalog["prices"]["package"],
        catalog["prices"]["pro"],
    ]
    free, payg, package, pro = plans
    common = {
        "product_id": catalog["product"],
        "product_name": "My API",
        "product_description": "This is a monetized API",
        "currency": "usd",
        "interval": "month",
        "interval_count": 1,
        "meter": None,
        "metered_by_portal": False,
    }
    assert free == {
        **common,
        "price_id": catalog["prices"]["free"],
        "nickname": "Free",
        "lookup_key": "free_monthly",
        "unit_amount": 0,
        "unit_amount_decimal": "0",
        "billing_scheme": "per_unit",
        "tiers": None,
        "tiers_mode": None,
        "transform_quantity": None,
        "usage_type": "licensed",
        "aggregate_usage": None,
    }
    assert package == {
        **common,
        "price_id": catalog["prices"]["package"],
        "nickname": "$10 per 1,000 calls",
        "lookup_key": "package_1000_monthly",
        "unit_amount": 1000,
        "unit_amount_decimal": "1000",
        "billing_scheme": "per_unit",
        "tiers": None,
        "tiers_mode": None,
        "transform_quantity": {"divide_by": 1000, "round": "up"},
        "usage_type": "metered",
        "aggregate_usage": "sum",
    }
    assert payg["billing_scheme"] == "tiered" and payg["tiers_mode"] == "graduated"
    assert payg["unit_amount"] is None and payg["usage_type"] == "metered"
    assert payg["tiers"] == [
        {"up_to": 1000, "unit_amount": 0, "unit_amount_decimal": "0", "flat_amount": None},
        {"up_to": 10000, "unit_amount": 2, "unit_amount_decimal": "2", "flat_amount": None},
        {"up_to": None, "unit_amount": 1, "unit_amount_decimal": "1", "flat_amount": None},
    ]
    assert (pro["nickname"], pro["unit_amount"], pro["usage_type"]) == ("Pro", 2900, "licensed")


async def test_plans_say_which_metered_prices_a_meter_of_the_portal_bills(
    api: httpx.AsyncClient, catalog: dict[str, Any]
) -> None:
    def flags(plans: list[dict[str, Any]]) -> dict[str, bool]:
        return {plan["lookup_key"]: plan["metered_by_portal"] for plan in plans}

    before = (await api.get("/v1/plans")).json()["data"]
    created = await api.post(
        "/v1/admin/meters",
        json={"name": "API calls", "stripe_price_id": catalog["prices"]["package"]},
        headers=ADMIN,
    )
    after = (await api.get("/v1/plans")).json()["data"]  # the Stripe listing is cached; the flag is not
    off = await api.patch(f"/v1/admin/meters/{created.json()['id']}", json={"active": False}, headers=ADMIN)
    switched_off = (await api.get("/v1/plans")).json()["data"]

    assert created.status_code == 201 and off.status_code == 200
    assert flags(before) == {
        "free_monthly": False,
        "payg_graduated_monthly": False,
        "package_1000_monthly": False,
        "pro_monthly": False,
    }
    assert flags(after) == {
        "free_monthly": False,
        "payg_graduated_monthly": False,
        "package_1000_monthly": True,
        "pro_monthly": False,
    }
    assert flags(switched_off) == flags(before)


async def test_plans_keep_the_prices_currency_and_sort_by_product_then_amount(
    api: httpx.AsyncClient, stripe_sdk: Any
) -> None:
    alpha = stripe_sdk.v1.products.create({"name": "Alpha API"})
    zulu = stripe_sdk.v1.products.create({"name": "Zulu API"})
    for product, amount, currency in ((zulu, 100, "eur"), (alpha, 900, "jpy"), (alpha, 300, "jpy")):
        stripe_sdk.v1.prices.create(
            {
                "product": product.id,
                "currency": currency,
                "unit_amount": amount,
                "recurring": {"interval": "year"},
            }
        )

    plans = (await api.get("/v1/plans")).json()["data"]

    assert [(p["product_name"], p["unit_amount"], p["currency"], p["interval"]) for p in plans] == [
        ("Alpha API", 300, "jpy", "year"),
        ("Alpha API", 900, "jpy", "year"),
        ("Zulu API", 100, "eur", "year"),
    ]


async def test_plans_leave_out_archived_prices_products_and_one_time_prices(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    stripe_sdk.v1.prices.update(catalog["prices"]["payg"], {"active": False})
    stripe_sdk.v1.prices.create({"product": catalog["product"], "currency": "usd", "unit_amount": 5000})
    retired = stripe_sdk.v1.products.create({"name": "Retired API"})
    stripe_sdk.v1.prices.create(
        {"product": retired.id, "currency": "usd", "unit_amount": 1, "recurring": {"interval": "month"}}
    )
    stripe_sdk.v1.products.update(retired.id, {"active": False})

    plans = (await api.get("/v1/plans")).json()["data"]

    assert [p["price_id"] for p in plans] == [
        catalog["prices"]["free"],
        catalog["prices"]["package"],
        catalog["prices"]["pro"],
    ]


async def test_plans_are_cached_in_process(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer, stripe_sdk: Any
) -> None:
    first = await api.get("/v1/plans")
    stripe_sdk.v1.prices.update(catalog["prices"]["free"], {"nickname": "Renamed"})
    second = await api.get("/v1/plans")
    services_of(app).plan_catalog.invalidate()
    third = await api.get("/v1/plans")

    assert first.json() == second.json()
    assert emulator.request_count("GET", "/v1/prices") == 2
    assert third.json()["data"][0]["nickname"] == "Renamed"


async def test_plans_page_through_more_than_one_stripe_page(api: httpx.AsyncClient, stripe_sdk: Any) -> None:
    product = stripe_sdk.v1.products.create({"name": "Big API"})
    for amount in range(105):
        stripe_sdk.v1.prices.create(
            {
                "product": product.id,
                "currency": "usd",
                "unit_amount": amount,
                "recurring": {"interval": "month"},
            }
        )

    plans = (await api.get("/v1/plans")).json()["data"]

    assert [p["unit_amount"] for p in plans] == list(range(105))


async def test_stripe_outage_is_502_upstream_error(api: httpx.AsyncClient, emulator: EmulatorServer) -> None:
    emulator.add_fault("/v1/prices", method="GET")

    response = await api.get("/v1/plans")

    assert error_of(response) == (502, "upstream_error")
