"""GET /v1/invoices/upcoming (Stripe's preview and our estimate side by side) and the admin console's
customer routes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from portal_api.metering.meters.metrics import ChargeBy
from tests.api.reporting.world import HOUR, MODES, World
from tests.fixtures.emulator import BASIL, LEGACY
from tests.fixtures.members import ADMIN, sign_up


async def subscribed_user(world: World, api: httpx.AsyncClient, email: str = "dev@example.com") -> tuple:
    member = await sign_up(api, email)
    customer = await world.subscribe(member.id, email)
    return customer, member.headers


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_upcoming_invoice_shows_stripes_preview_and_our_estimate_side_by_side(
    world: World, api: httpx.AsyncClient, stripe_version: str
) -> None:
    customer, headers = await subscribed_user(world, api)
    hour = world.now.replace(minute=0, second=0, microsecond=0)
    world.advance_to(hour + timedelta(minutes=30))
    await world.use(customer, hour, 4, minute=29)
    world.advance_to(hour + HOUR + timedelta(minutes=40))
    await world.use(customer, hour + HOUR, 7, minute=39)  # not reported yet: the hour is still open
    world.advance_to(hour + HOUR + timedelta(minutes=50))
    await world.report()

    response = await api.get("/v1/invoices/upcoming", headers=headers)

    assert response.status_code == 200, response.text
    body = response.json()
    unit = world.prices[ChargeBy.SUM]["unit_amount"]
    stripe_lines = {line["price_id"]: line for line in body["stripe"]["lines"]}
    assert body["subscription_id"] == customer.subscription_id
    assert body["stripe"]["currency"] == "usd"
    assert stripe_lines[world.prices[ChargeBy.SUM]["id"]]["amount"] == 4 * unit
    assert body["stripe"]["amount_due"] == 4 * 4 * unit  # the reported hour, in all four modes
    estimate = {line["meter_id"]: line for line in body["estimate"]["lines"]}
    assert set(estimate) == {world.meters[m] for m in MODES}
    expected = {ChargeBy.SUM: 11, ChargeBy.LAST: 7, ChargeBy.LAST_EVER: 7, ChargeBy.MAX: 7}
    for mode, quantity in expected.items():
        line = estimate[world.meters[mode]]
        assert (float(line["quantity"]), line["amount"]) == (quantity, quantity * unit), mode
    assert body["estimate"]["amount"] == sum(expected.values()) * unit
    assert body["estimate"]["currency"] == "usd"


async def test_upcoming_invoice_is_404_without_a_subscription_and_401_signed_out(
    world: World, api: httpx.AsyncClient
) -> None:
    headers = (await sign_up(api, "nobody@example.com")).headers

    missing = await api.get("/v1/invoices/upcoming", headers=headers)
    anonymous = await api.get("/v1/invoices/upcoming")

    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_subscription"
    assert anonymous.status_code == 401


async def test_admin_customers_show_usage_this_period_and_the_latest_reports(
    world: World, api: httpx.AsyncClient
) -> None:
    customer, _ = await subscribed_user(world, api)
    await sign_up(api, "free-rider@example.com")  # no subscription: not a customer
    hour = world.now.replace(minute=0, second=0, microsecond=0)
    world.advance_to(hour + timedelta(minutes=30))
    await world.use(customer, hour, 5, minute=29)
    world.advance_to(hour + HOUR + timedelta(minutes=5))
    await world.report()

    listed = await api.get("/v1/admin/customers", headers=ADMIN)
    detail = await api.get(f"/v1/admin/customers/{customer.user_id}", headers=ADMIN)

    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == 1 and [c["user_id"] for c in body["data"]] == [customer.user_id]
    row = body["data"][0]
    assert row["email"] == "dev@example.com"
    assert row["stripe_customer_id"] == customer.stripe_customer_id
    assert row["subscription"]["id"] == customer.subscription_id
    usage = {u["meter_id"]: u for u in row["usage"]}
    for mode in MODES:
        entry = usage[world.meters[mode]]
        assert float(entry["usage_quantity"]) == float(entry["reported_quantity"]) == 5
        assert entry["unreported_reports"] == 0 and entry["charge_by"] == mode.value
    assert len(row["last_reports"]) == 4 and {r["status"] for r in row["last_reports"]} == {"sent"}
    assert detail.status_code == 200, detail.text
    assert detail.json()["subscriptions"][0]["id"] == customer.subscription_id
    assert len(detail.json()["last_reports"]) == 4


async def test_admin_console_routes_need_an_admin_and_known_ids(world: World, api: httpx.AsyncClient) -> None:
    customer, headers = await subscribed_user(world, api)

    for path in ("/v1/admin/customers", f"/v1/admin/customers/{customer.user_id}", "/v1/admin/report-runs"):
        assert (await api.get(path)).status_code == 401, path
        assert (await api.get(path, headers=headers)).status_code == 403, path
    unknown = await api.get("/v1/admin/customers/usr_unknown", headers=ADMIN)
    bad_limit = await api.get("/v1/admin/customers", params={"limit": 0}, headers=ADMIN)

    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "customer_not_found"
    assert bad_limit.status_code == 422 and bad_limit.json()["error"]["code"] == "validation_error"
