"""/v1/admin/meters: who may, price checks on the emulator, bad filters, rebuilds when definitions change."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from portal_api.core.container import Services
from stripe_emulator.testing import EmulatorServer
from tests.api.metering.conftest import create_meter, meter_usage, send_usage, usage, usage_event
from tests.fixtures.billing import mirror_subscription
from tests.fixtures.database import running_app
from tests.fixtures.emulator import BASIL, LEGACY, emulator_settings
from tests.fixtures.members import ADMIN, ADMIN_TOKEN, Member


def make_price(emulator: EmulatorServer, product: str, **recurring: Any) -> str:
    sdk = emulator.client(version=LEGACY)
    params: dict[str, Any] = {"product": product, "currency": "eur", "unit_amount": 5, "nickname": "Custom"}
    if recurring:
        params["recurring"] = {"interval": "month", **recurring}
    price: Any = sdk.v1.prices.create(params)
    return str(price.id)


async def test_admin_creates_meter_with_price_nickname_and_default_charge_by(
    api: httpx.AsyncClient, admin: Member, catalog: dict[str, Any]
) -> None:
    meter = await create_meter(
        api, admin, catalog["prices"]["package"], filters={"field": "method", "value": "GET"}
    )

    assert meter["price_nickname"] == "$10 per 1,000 calls"
    assert meter["currency"] == "usd"
    assert meter["stripe_product_id"] == catalog["product"]
    assert meter["charge_by"] == "sum_during_period"
    assert meter["metric"] == {"type": "event_count"}
    assert meter["filters"] == {"field": "method", "op": "eq", "value": "GET"}
    assert meter["active"] is True and meter["rebuilt_at"] is not None
    listed = await api.get("/v1/admin/meters", headers=ADMIN)  # an admin API token works too
    assert listed.status_code == 200 and [m["id"] for m in listed.json()["data"]] == [meter["id"]]
    fetched = await api.get(f"/v1/admin/meters/{meter['id']}", headers=admin.headers)
    assert fetched.json() == meter


async def test_meters_are_admin_only_and_unknown_ids_are_404(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any]
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])

    as_customer = await api.get(f"/v1/admin/meters/{meter['id']}", headers=alice.headers)
    anonymous = await api.get(f"/v1/admin/meters/{meter['id']}")
    create_as_customer = await api.post(
        "/v1/admin/meters",
        json={"name": "x", "stripe_price_id": catalog["prices"]["payg"]},
        headers=alice.headers,
    )
    unknown = await api.get("/v1/admin/meters/meter_nope", headers=admin.headers)
    patch_unknown = await api.patch("/v1/admin/meters/meter_nope", json={"name": "y"}, headers=admin.headers)
    delete_unknown = await api.delete("/v1/admin/meters/meter_nope", headers=admin.headers)

    assert as_customer.status_code == 403 and as_customer.json()["error"]["code"] == "admin_only"
    assert anonymous.status_code == 401
    assert create_as_customer.status_code == 403
    for response in (unknown, patch_unknown, delete_unknown):
        assert response.status_code == 404 and response.json()["error"]["code"] == "meter_not_found"


@pytest.mark.parametrize(
    ("recurring", "status", "code"),
    [
        (None, 422, "price_not_recurring"),
        ({"usage_type": "licensed"}, 422, "price_not_metered"),
        ({"usage_type": "metered", "aggregate_usage": "max"}, 422, "charge_by_mismatch"),
    ],
)
async def test_prices_that_cannot_bill_a_meter_are_refused_clearly(
    api: httpx.AsyncClient,
    admin: Member,
    catalog: dict[str, Any],
    emulator: EmulatorServer,
    recurring: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    price = make_price(emulator, catalog["product"], **(recurring or {}))

    response = await api.post(
        "/v1/admin/meters",
        json={"name": "x", "stripe_price_id": price, "charge_by": "sum_during_period"},
        headers=admin.headers,
    )

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert price in response.json()["error"]["message"]


async def test_unknown_price_is_404_and_wrong_product_is_422(
    api: httpx.AsyncClient, admin: Member, catalog: dict[str, Any]
) -> None:
    missing = await api.post(
        "/v1/admin/meters", json={"name": "x", "stripe_price_id": "price_missing"}, headers=admin.headers
    )
    wrong_product = await api.post(
        "/v1/admin/meters",
        json={"name": "x", "stripe_price_id": catalog["prices"]["payg"], "stripe_product_id": "prod_other"},
        headers=admin.headers,
    )

    assert missing.status_code == 404 and missing.json()["error"]["code"] == "price_not_found"
    assert (
        wrong_product.status_code == 422 and wrong_product.json()["error"]["code"] == "price_product_mismatch"
    )


async def test_each_legacy_aggregate_usage_maps_to_its_charge_by(
    api: httpx.AsyncClient, admin: Member, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    expected = {
        "sum": "sum_during_period",
        "max": "max_during_period",
        "last_during_period": "last_during_period",
        "last_ever": "last_ever",
    }
    for aggregate, charge_by in expected.items():
        price = make_price(emulator, catalog["product"], usage_type="metered", aggregate_usage=aggregate)
        meter = await create_meter(api, admin, price)
        assert meter["charge_by"] == charge_by and meter["currency"] == "eur"


async def test_billing_meter_prices_need_the_matching_formula(
    api: httpx.AsyncClient, admin: Member, emulator: EmulatorServer
) -> None:
    seeded = emulator.seed(mode="meters")  # metered prices backed by a `sum` Billing Meter
    price = seeded["prices"]["payg"]

    summed = await create_meter(api, admin, price)
    maxed = await api.post(
        "/v1/admin/meters",
        json={"name": "peak", "stripe_price_id": price, "charge_by": "max_during_period"},
        headers=admin.headers,
    )

    assert summed["charge_by"] == "sum_during_period"
    assert maxed.status_code == 422 and maxed.json()["error"]["code"] == "charge_by_mismatch"
    assert "'last' meter" in maxed.json()["error"]["message"]


async def test_bad_filter_or_metric_is_422_with_the_path(
    api: httpx.AsyncClient, admin: Member, catalog: dict[str, Any]
) -> None:
    price = catalog["prices"]["payg"]
    bad_filter = await api.post(
        "/v1/admin/meters",
        json={
            "name": "x",
            "stripe_price_id": price,
            "filters": {
                "and": [{"field": "method", "value": "GET"}, {"or": [{"field": "status", "value": "7xx"}]}]
            },
        },
        headers=admin.headers,
    )
    bad_metric = await api.post(
        "/v1/admin/meters",
        json={"name": "x", "stripe_price_id": price, "metric": {"type": "sum", "field": "route"}},
        headers=admin.headers,
    )
    unknown_metric = await api.post(
        "/v1/admin/meters",
        json={"name": "x", "stripe_price_id": price, "metric": {"type": "p99"}},
        headers=admin.headers,
    )

    assert bad_filter.status_code == 422
    assert bad_filter.json()["error"]["code"] == "invalid_filter"
    assert bad_filter.json()["error"]["details"]["path"] == "filters.and[1].or[0].value"
    assert bad_metric.status_code == 422 and bad_metric.json()["error"]["details"]["path"] == "metric.field"
    assert unknown_metric.status_code == 422 and unknown_metric.json()["error"]["code"] == "invalid_metric"


async def test_a_blank_condition_value_is_422_at_its_path_and_no_meter_is_made(
    api: httpx.AsyncClient, admin: Member, catalog: dict[str, Any]
) -> None:
    body = {
        "name": "Searches",
        "stripe_price_id": catalog["prices"]["payg"],
        "filters": {"and": [{"field": "route", "value": "/v1/search"}, {"field": "status", "value": " "}]},
    }
    created = await api.post("/v1/admin/meters", json=body, headers=admin.headers)
    meter = await create_meter(api, admin, catalog["prices"]["package"])
    edited = await api.patch(
        f"/v1/admin/meters/{meter['id']}",
        json={"filters": {"field": "route", "op": "contains", "value": ""}},
        headers=admin.headers,
    )

    for refused, path in ((created, "filters.and[1].value"), (edited, "filters.value")):
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "invalid_filter" and error["details"]["path"] == path
        assert "blank" in error["message"]
    listed = (await api.get("/v1/admin/meters", headers=admin.headers)).json()["data"]
    assert [(m["id"], m["filters"]) for m in listed] == [(meter["id"], None)]


async def test_meter_created_after_events_counts_their_history(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    await send_usage(api, [usage_event(user_id=alice.id) for _ in range(4)])

    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])

    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 4


async def test_changing_filters_or_metric_rebuilds_rollups_from_raw_events(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    meter = await create_meter(
        api, admin, catalog["prices"]["payg"], filters={"field": "route", "value": "/v1/items/{id}"}
    )
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    await send_usage(
        api,
        [usage_event(user_id=alice.id, route="/v1/items/1", properties={"tokens": 10}) for _ in range(3)]
        + [usage_event(user_id=alice.id, route="/v1/orders/9", properties={"tokens": 7}) for _ in range(2)],
    )
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 3

    to_orders = await api.patch(
        f"/v1/admin/meters/{meter['id']}",
        json={"filters": {"field": "route", "value": "/v1/orders/{id}"}},
        headers=admin.headers,
    )
    assert to_orders.status_code == 200 and to_orders.json()["version"] == 2
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 2

    to_tokens = await api.patch(
        f"/v1/admin/meters/{meter['id']}",
        json={"filters": None, "metric": {"type": "sum", "field": "properties.tokens"}},
        headers=admin.headers,
    )
    assert to_tokens.status_code == 200 and to_tokens.json()["filters"] is None
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 3 * 10 + 2 * 7

    renamed = await api.patch(
        f"/v1/admin/meters/{meter['id']}", json={"name": "Tokens"}, headers=admin.headers
    )
    assert renamed.json()["name"] == "Tokens" and renamed.json()["version"] == 3  # no rebuild for a rename


async def test_inactive_meter_stops_counting_and_reactivating_fills_the_gap(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    await send_usage(api, [usage_event(user_id=alice.id)])

    off = await api.patch(f"/v1/admin/meters/{meter['id']}", json={"active": False}, headers=admin.headers)
    await send_usage(api, [usage_event(user_id=alice.id)])
    hidden = await usage(api, alice)
    on = await api.patch(f"/v1/admin/meters/{meter['id']}", json={"active": True}, headers=admin.headers)

    assert off.json()["active"] is False and hidden["meters"] == []
    assert on.json()["active"] is True
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 2


async def test_deleting_a_meter_removes_it_and_its_rollups(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    await send_usage(api, [usage_event(user_id=alice.id)])

    deleted = await api.delete(f"/v1/admin/meters/{meter['id']}", headers=admin.headers)

    assert deleted.status_code == 204
    assert (await api.get(f"/v1/admin/meters/{meter['id']}", headers=admin.headers)).status_code == 404
    assert (await usage(api, alice))["meters"] == []


async def test_under_basil_a_metered_price_without_billing_meter_is_refused(
    settings_factory: Any, emulator: EmulatorServer, catalog: dict[str, Any]
) -> None:
    basil = emulator_settings(
        settings_factory,
        emulator,
        stripe_api_key="sk_test_metering",
        stripe_api_version=BASIL,
        admin_bootstrap_token=ADMIN_TOKEN,
    )
    async with (
        running_app(basil) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        response = await client.post(
            "/v1/admin/meters",
            json={"name": "legacy", "stripe_price_id": catalog["prices"]["payg"]},
            headers=ADMIN,
        )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "price_not_metered"
    assert "recurring.meter" in response.json()["error"]["message"]
