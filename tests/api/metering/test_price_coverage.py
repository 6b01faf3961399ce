"""Every metered price is billed by exactly one active meter: the console lists prices with none, a
second active meter on a price is refused (409), and `portal-api seed-demo-meters` gives each demo price
its meter."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from portal_api.cli import commands
from portal_api.core.container import Services
from portal_api.metering.meters.demo import NotTheEmulator, seed_demo_meters
from portal_api.metering.models import Meter
from stripe_emulator.testing import EmulatorServer
from tests.api.metering.conftest import create_meter
from tests.fixtures.members import ADMIN, Member


async def coverage(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.get("/v1/admin/meters/coverage", headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_metered_prices_without_an_active_meter_are_listed_as_unbilled(
    api: httpx.AsyncClient, admin: Member, catalog: dict[str, Any]
) -> None:
    prices = catalog["prices"]
    before = await coverage(api)  # the free plan is licensed: it has no usage to bill

    meter = await create_meter(api, admin, prices["payg"])
    after_one = await coverage(api)
    off = await api.patch(f"/v1/admin/meters/{meter['id']}", json={"active": False}, headers=admin.headers)
    switched_off = await coverage(api)

    assert [p["price_id"] for p in before["unbilled"]] == [prices["payg"], prices["package"]]
    package = before["unbilled"][1]
    assert package == {
        "price_id": prices["package"],
        "product_id": catalog["product"],
        "product_name": "My API",
        "nickname": "$10 per 1,000 calls",
        "lookup_key": "package_1000_monthly",
        "currency": "usd",
        "inactive_meter_ids": [],
    }
    assert [p["price_id"] for p in after_one["unbilled"]] == [prices["package"]]
    assert off.status_code == 200
    assert [(p["price_id"], p["inactive_meter_ids"]) for p in switched_off["unbilled"]] == [
        (prices["payg"], [meter["id"]]),
        (prices["package"], []),
    ]
    assert before["double_metered"] == after_one["double_metered"] == []


async def test_coverage_is_for_admins_only(api: httpx.AsyncClient, alice: Member) -> None:
    assert (await api.get("/v1/admin/meters/coverage")).status_code == 401
    as_customer = await api.get("/v1/admin/meters/coverage", headers=alice.headers)
    assert as_customer.status_code == 403


async def test_a_second_active_meter_on_a_price_is_refused_with_409(
    api: httpx.AsyncClient, admin: Member, catalog: dict[str, Any]
) -> None:
    payg, package = catalog["prices"]["payg"], catalog["prices"]["package"]
    first = await create_meter(api, admin, payg, name="Search calls")

    second = await api.post(
        "/v1/admin/meters", json={"name": "More calls", "stripe_price_id": payg}, headers=admin.headers
    )
    spare = await create_meter(api, admin, payg, name="Spare", active=False)  # an inactive one bills nothing
    activate = await api.patch(
        f"/v1/admin/meters/{spare['id']}", json={"active": True}, headers=admin.headers
    )
    other = await create_meter(api, admin, package, name="Package calls")
    move = await api.patch(
        f"/v1/admin/meters/{other['id']}", json={"stripe_price_id": payg}, headers=admin.headers
    )
    rename = await api.patch(
        f"/v1/admin/meters/{first['id']}", json={"name": "Searches"}, headers=admin.headers
    )

    for refused in (second, activate, move):
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "price_already_metered" and error["details"]["meter_id"] == first["id"]
        assert "Search calls" in error["message"] and "twice" in error["message"]
    assert rename.status_code == 200
    listed = (await api.get("/v1/admin/meters", headers=admin.headers)).json()["data"]
    assert {(m["name"], m["stripe_price_id"], m["active"]) for m in listed} == {
        ("Searches", payg, True),
        ("Spare", payg, False),
        ("Package calls", package, True),
    }
    # Switching the first one off frees the price for the spare.
    await api.patch(f"/v1/admin/meters/{first['id']}", json={"active": False}, headers=admin.headers)
    swapped = await api.patch(f"/v1/admin/meters/{spare['id']}", json={"active": True}, headers=admin.headers)
    assert swapped.status_code == 200 and swapped.json()["active"] is True


async def test_two_meters_created_at_once_on_one_price_leave_one(
    api: httpx.AsyncClient, admin: Member, catalog: dict[str, Any]
) -> None:
    price = catalog["prices"]["package"]

    responses = await asyncio.gather(
        *(
            api.post("/v1/admin/meters", json={"name": f"calls {n}", "stripe_price_id": price}, headers=ADMIN)
            for n in range(4)
        )
    )

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    listed = (await api.get("/v1/admin/meters", headers=admin.headers)).json()["data"]
    assert len(listed) == 1


async def test_prices_doubled_before_the_rule_are_listed(
    api: httpx.AsyncClient, admin: Member, catalog: dict[str, Any], services: Services
) -> None:
    first = await create_meter(api, admin, catalog["prices"]["payg"])
    async with services.database.write() as session:  # as an older version of the portal allowed
        twin = Meter(
            name="Twin",
            stripe_product_id=catalog["product"],
            stripe_price_id=catalog["prices"]["payg"],
            price_nickname="Pay as you go",
            filters="null",
            metric='{"type":"event_count"}',
            charge_by="sum_during_period",
        )
        session.add(twin)
        await session.flush()
        twin_id = twin.id

    doubled = (await coverage(api))["double_metered"]

    assert doubled == [
        {
            "price_id": catalog["prices"]["payg"],
            "nickname": "Pay as you go",
            "meter_ids": [first["id"], twin_id],
        }
    ]


async def test_seeding_demo_meters_gives_each_metered_price_one_and_is_safe_to_repeat(
    api: httpx.AsyncClient, admin: Member, catalog: dict[str, Any], services: Services
) -> None:
    gateway = await services.stripe.gateway()
    kept = await create_meter(api, admin, catalog["prices"]["payg"], name="Search calls", active=False)

    first = await seed_demo_meters(services.database, services.settings, gateway, services.plan_catalog)
    again = await seed_demo_meters(services.database, services.settings, gateway, services.plan_catalog)

    prices = catalog["prices"]
    assert [(s.price_id, s.meter_id is None) for s in first] == [
        (prices["payg"], True),
        (prices["package"], False),
    ]
    assert all(s.meter_id is None for s in again)  # nothing new the second time
    listed = (await api.get("/v1/admin/meters", headers=admin.headers)).json()["data"]
    assert sorted((m["name"], m["stripe_price_id"], m["filters"], m["active"]) for m in listed) == [
        ("API calls", prices["package"], None, True),
        ("Search calls", prices["payg"], None, False),  # switched off by an admin: left alone
    ]
    assert kept["id"] in {m["id"] for m in listed}
    assert [p["price_id"] for p in (await coverage(api))["unbilled"]] == [prices["payg"]]


async def test_demo_meters_are_never_seeded_on_real_stripe(
    services: Services, emulator: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.seed()
    settings = services.settings.model_copy(update={"stripe_api_base": ""})

    with pytest.raises(NotTheEmulator):
        await seed_demo_meters(services.database, settings, None, services.plan_catalog)
    for base in ("https://api.stripe.com", "https://files.stripe.com/v1"):
        code = await commands.seed_meters(services.settings.model_copy(update={"stripe_api_base": base}))
        assert code == 2
    assert "only made on the Stripe emulator" in capsys.readouterr().out


async def test_the_seed_command_prints_what_it_did(
    services: Services, catalog: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await commands.seed_meters(services.settings) == 0
    assert await commands.seed_meters(services.settings) == 0

    out = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[0] for line in out] == ["created", "created", "kept", "kept"]
    assert "$10 per 1,000 calls" in out[1] and catalog["prices"]["package"] in out[1]
