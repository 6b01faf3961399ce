"""POST /v1/admin/meters/{id}/test: passes on a correct setup (both Stripe paths, all four charge-by modes)
and fails with a clear reason on a wrong price, a missing subscription and a bad Stripe key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from portal_api.main import services_of
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.metering.models import Meter
from tests.api.reporting.world import MODES, World
from tests.fixtures.emulator import BASIL, LEGACY
from tests.fixtures.members import ADMIN, sign_up


async def meter_test(
    api: httpx.AsyncClient, meter_id: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await api.post(f"/v1/admin/meters/{meter_id}/test", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def check(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in result["checks"] if c["name"] == name)


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_meter_test_passes_for_every_charge_by_mode_on_a_correct_setup(
    world: World, api: httpx.AsyncClient, stripe_version: str
) -> None:
    [customer] = await world.add_customers(1)

    for mode in MODES:
        result = await meter_test(api, world.meters[mode])

        assert result["pass"] is True, result
        assert result["reason"] is None
        assert result["subscription_id"] == customer.subscription_id
        assert result["subscription_item_id"] == customer.items[mode]
        assert result["difference"] == 0
        assert result["stripe"]["amount"] == result["ours"]["amount"] > 0
        assert [c["name"] for c in result["checks"]] == [
            "stripe_connection",
            "price",
            "subscription",
            "test_event",
            "report",
            "invoice_preview",
            "usage_reported",
        ]
        assert all(c["ok"] for c in result["checks"])
    # Each test sent one event, counted by every meter, and reported only its own meter's item (the open
    # hour so far). The rest of that hour reaches the sum item as a correction of the same hour.
    assert world.stripe_quantity(customer, ChargeBy.SUM) == 1
    later = await world.reporter.run(include_open_hour=True)
    assert later.corrections >= 1 and later.failed == 0
    assert world.stripe_quantity(customer, ChargeBy.SUM) == len(MODES)


async def test_meter_test_fails_on_a_price_that_is_not_metered(world: World, api: httpx.AsyncClient) -> None:
    await world.add_customers(1)
    licensed = world.stripe.v1.prices.create(
        {
            "product": world.prices[ChargeBy.SUM]["product"],
            "currency": "usd",
            "unit_amount": 900,
            "recurring": {"interval": "month"},
        }
    )
    async with services_of(world.app).database.write() as session:
        meter = await session.get(Meter, world.meters[ChargeBy.SUM])
        assert meter is not None
        meter.stripe_price_id = licensed.id  # e.g. edited by hand, or the price was swapped in Stripe

    result = await meter_test(api, world.meters[ChargeBy.SUM])

    assert result["pass"] is False
    assert result["reason"].startswith("wrong price:") and "licensed" in result["reason"]
    assert check(result, "stripe_connection")["ok"] is True
    assert check(result, "price")["ok"] is False


async def test_meter_test_fails_when_the_subscription_has_not_the_meters_price(
    world: World, api: httpx.AsyncClient
) -> None:
    [other] = await world.add_customers(1)
    only_last = await world.subscribe(other.user_id, "other@example.com", modes=[ChargeBy.LAST])

    result = await meter_test(api, world.meters[ChargeBy.SUM], {"subscription_id": only_last.subscription_id})

    assert result["pass"] is False
    assert "wrong price" in result["reason"] and world.prices[ChargeBy.SUM]["id"] in result["reason"]
    assert check(result, "subscription")["ok"] is False


async def test_meter_test_fails_without_a_subscription_to_the_meters_price(
    world: World, api: httpx.AsyncClient
) -> None:
    result = await meter_test(api, world.meters[ChargeBy.MAX])

    assert result["pass"] is False
    assert "No active subscription has the meter's price" in result["reason"]
    assert [c["ok"] for c in result["checks"]] == [True, True, False]
    assert result["ours"] is None and result["stripe"] is None


async def test_meter_test_fails_with_a_bad_stripe_key(world: World, api: httpx.AsyncClient) -> None:
    await world.add_customers(1)
    response = await api.put(
        "/v1/admin/billing-provider", json={"secret_key": "sk_live_typo4321"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text

    result = await meter_test(api, world.meters[ChargeBy.SUM])

    assert result["pass"] is False
    assert "rejected the API key ending in 4321" in result["reason"]
    assert "sk_live_typo4321" not in str(result)
    assert [c["name"] for c in result["checks"]] == ["stripe_connection"]


async def test_meter_test_needs_an_admin_and_a_known_meter(world: World, api: httpx.AsyncClient) -> None:
    anonymous = await api.post(f"/v1/admin/meters/{world.meters[ChargeBy.SUM]}/test")
    user = await sign_up(api, "dev@example.com")
    not_admin = await api.post(f"/v1/admin/meters/{world.meters[ChargeBy.SUM]}/test", headers=user.headers)
    unknown = await api.post("/v1/admin/meters/meter_nope/test", headers=ADMIN)

    assert anonymous.status_code == 401
    assert not_admin.status_code == 403
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "meter_not_found"
