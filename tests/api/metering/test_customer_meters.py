"""GET /v1/usage lists the meters that bill the customer's own subscription, each priced with its own price.

A customer on "$10 per 1,000 calls" once saw the pay-as-you-go meter ("1 call ≈ $0.00"), whose usage is
never billed to them: now only the meters of their subscription's prices are shown.
"""

from __future__ import annotations

from typing import Any

import httpx

from portal_api.core.container import Services
from stripe_emulator.testing import EmulatorServer
from tests.api.metering.conftest import create_meter, send_usage, usage, usage_event
from tests.fixtures.billing import mirror_subscription
from tests.fixtures.emulator import LEGACY
from tests.fixtures.members import Member


async def test_each_customer_sees_only_the_meter_of_their_own_price_with_its_estimate(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    bob: Member,
    catalog: dict[str, Any],
    services: Services,
) -> None:
    search = await create_meter(api, admin, catalog["prices"]["payg"], name="Search calls")
    calls = await create_meter(api, admin, catalog["prices"]["package"], name="API calls")
    await mirror_subscription(services, alice, catalog["prices"]["package"])  # $10 per 1,000 calls
    await mirror_subscription(services, bob, catalog["prices"]["payg"])  # the first 1,000 calls are free
    await send_usage(api, [usage_event(user_id=alice.id), usage_event(user_id=bob.id)])

    alices, bobs = await usage(api, alice), await usage(api, bob)

    [mine] = alices["meters"]
    assert (mine["meter_id"], mine["name"], mine["price_id"]) == (
        calls["id"],
        "API calls",
        catalog["prices"]["package"],
    )
    assert mine["price_nickname"] == "$10 per 1,000 calls"
    assert mine["period_value"] == 1 and mine["estimated_amount"] == 1000 and mine["currency"] == "usd"
    assert alices["subscription_id"] is not None
    [theirs] = bobs["meters"]
    assert theirs["meter_id"] == search["id"] and theirs["estimated_amount"] == 0


async def test_a_customer_without_a_subscription_sees_no_meter(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any]
) -> None:
    await create_meter(api, admin, catalog["prices"]["package"])
    await send_usage(api, [usage_event(user_id=alice.id)])

    report = await usage(api, alice)

    assert report["meters"] == [] and report["subscription_id"] is None


async def test_an_ended_subscription_shows_no_meter_and_a_plan_without_meter_shows_none(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    bob: Member,
    catalog: dict[str, Any],
    services: Services,
) -> None:
    await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, catalog["prices"]["payg"], status="canceled")
    await mirror_subscription(services, bob, catalog["prices"]["package"])  # no meter bills this price

    assert (await usage(api, alice))["meters"] == []
    bobs = await usage(api, bob)
    assert bobs["meters"] == [] and bobs["subscription_id"] is not None


async def test_a_subscription_with_two_metered_items_shows_both_meters_and_no_inactive_one(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    catalog: dict[str, Any],
    services: Services,
) -> None:
    payg = await create_meter(api, admin, catalog["prices"]["payg"], name="Search calls")
    package = await create_meter(api, admin, catalog["prices"]["package"], name="API calls")
    await mirror_subscription(services, alice, catalog["prices"]["payg"], catalog["prices"]["package"])
    off = await api.patch(f"/v1/admin/meters/{payg['id']}", json={"active": False}, headers=admin.headers)
    assert off.status_code == 200

    report = await usage(api, alice)

    assert [m["meter_id"] for m in report["meters"]] == [package["id"]]


async def test_the_estimate_follows_a_sub_cent_price_in_its_own_currency(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    catalog: dict[str, Any],
    emulator: EmulatorServer,
    services: Services,
) -> None:
    price = emulator.client(version=LEGACY).v1.prices.create(
        {
            "product": catalog["product"],
            "currency": "eur",
            "unit_amount_decimal": "0.5",  # half a cent per call
            "nickname": "Half a cent a call",
            "recurring": {"interval": "month", "usage_type": "metered", "aggregate_usage": "sum"},
        }
    )
    meter = await create_meter(api, admin, price.id)
    await mirror_subscription(services, alice, price.id)
    await send_usage(api, [usage_event(user_id=alice.id) for _ in range(3)])

    [mine] = (await usage(api, alice))["meters"]

    assert mine["meter_id"] == meter["id"] and mine["period_value"] == 3
    assert mine["currency"] == "eur" and mine["estimated_amount"] == 2  # 1.5 cents, rounded half up
