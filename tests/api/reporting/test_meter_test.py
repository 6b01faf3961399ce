"""POST /v1/admin/meters/{id}/test: with a test key it sends an event the meter's filters accept for its own
customer and subscription (made in Stripe test mode, then reused) and never changes a real customer's usage,
rollups, ledger rows or Stripe usage; with a live key it sends nothing. It fails with a clear reason on a
wrong price, filters no event can meet, an edited event they refuse, and a bad Stripe key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from portal_api.accounts.models import User
from portal_api.accounts.system_users import METER_TEST_EMAIL, METER_TEST_USER_ID
from portal_api.main import services_of
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.metering.models import Meter, UsageEvent, UsageRollup
from portal_api.reporting import meter_test as meter_test_module
from portal_api.reporting.models import ReportedHour, ReportRun, UsageReport
from tests.api.reporting.world import MODES, Customer, World
from tests.fixtures.emulator import BASIL, LEGACY
from tests.fixtures.members import ADMIN, sign_up

README_FILTERS = {"and": [{"field": "route", "value": "/v1/search"}, {"field": "status", "value": 200}]}
CHECKS = [
    "stripe_connection",
    "price",
    "event",
    "subscription",
    "test_event",
    "report",
    "invoice_preview",
    "usage_reported",
]


async def meter_test(
    api: httpx.AsyncClient, meter_id: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await api.post(f"/v1/admin/meters/{meter_id}/test", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def check(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in result["checks"] if c["name"] == name)


async def set_filters(api: httpx.AsyncClient, meter_id: str, filters: Any) -> None:
    response = await api.patch(f"/v1/admin/meters/{meter_id}", json={"filters": filters}, headers=ADMIN)
    assert response.status_code == 200, response.text


async def real_state(world: World, customers: list[Customer]) -> dict[str, Any]:
    """Everything a real customer's bill depends on: rollups, usage events, ledger, reported hours, Stripe."""
    users = [c.user_id for c in customers]
    items = [item for c in customers for item in c.items.values()]
    async with services_of(world.app).database.read() as session:
        rollups = (
            await session.execute(
                select(UsageRollup.meter_id, UsageRollup.user_id, UsageRollup.hour, UsageRollup.value_milli)
                .where(UsageRollup.user_id.in_(users))
                .order_by(UsageRollup.meter_id, UsageRollup.user_id, UsageRollup.hour)
            )
        ).all()
        events = await session.scalar(
            select(func.count()).select_from(UsageEvent).where(UsageEvent.user_id.in_(users))
        )
        ledger = (
            await session.execute(
                select(UsageReport.id, UsageReport.status, UsageReport.quantity_milli, UsageReport.user_id)
                .where(UsageReport.subscription_item_id.in_(items) | UsageReport.user_id.in_(users))
                .order_by(UsageReport.id)
            )
        ).all()
        reported = (
            await session.execute(
                select(ReportedHour.subscription_item_id, ReportedHour.hour, ReportedHour.target_milli)
                .where(ReportedHour.subscription_item_id.in_(items))
                .order_by(ReportedHour.subscription_item_id, ReportedHour.hour)
            )
        ).all()
    stripe = {(c.user_id, mode): world.stripe_quantity(c, mode) for c in customers for mode in c.items}
    return {
        "rollups": rollups,
        "events": events,
        "ledger": ledger,
        "reported": reported,
        "stripe": stripe,
    }


def meter_test_customers(world: World) -> list[dict[str, Any]]:
    customers = [c.to_dict() for c in world.stripe.v1.customers.list({"limit": 100}).data]
    return [c for c in customers if (c.get("metadata") or {}).get("portal_meter_test") == "true"]


async def customer_with_usage(world: World, *, route: str = "/v1/things", calls: int = 3) -> Customer:
    """A real customer whose calls this hour are already in Stripe."""
    [customer] = await world.add_customers(1)
    await world.use(
        customer, world.now.replace(minute=0, second=0, microsecond=0), calls, minute=0, route=route
    )
    run = await world.report(include_open_hour=True)
    assert run.failed == 0 and run.sent > 0
    return customer


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_the_readme_route_filtered_meter_passes_without_touching_a_real_customer(
    world: World, api: httpx.AsyncClient, stripe_version: str
) -> None:
    meter_id = world.meters[ChargeBy.SUM]
    await set_filters(api, meter_id, README_FILTERS)
    customer = await customer_with_usage(world, route="/v1/search")
    before = await real_state(world, [customer])
    assert before["stripe"][(customer.user_id, ChargeBy.SUM)] == 3

    result = await meter_test(api, meter_id)

    assert result["pass"] is True, result
    assert (result["mode"], result["reason"]) == ("test", None)
    assert [c["name"] for c in result["checks"]] == CHECKS and all(c["ok"] for c in result["checks"])
    assert (result["event"]["method"], result["event"]["route"], result["event"]["status"]) == (
        "GET",
        "/v1/search",
        200,
    )
    # Its own customer and subscription, not the real customer's.
    assert result["customer_id"] != customer.stripe_customer_id
    assert result["subscription_id"] != customer.subscription_id
    assert result["subscription_item_id"] not in customer.items.values()
    [test_customer] = meter_test_customers(world)
    assert test_customer["id"] == result["customer_id"] and test_customer["email"] is None
    subscription = world.stripe.v1.subscriptions.retrieve(result["subscription_id"]).to_dict()
    assert subscription["metadata"] == {"portal_meter_test": "true"}
    assert [i["price"]["id"] for i in subscription["items"]["data"]] == [world.prices[ChargeBy.SUM]["id"]]
    # The usage arrived as expected: one event, reported, on the test subscription's invoice.
    assert result["ours"]["usage_quantity"] == result["ours"]["reported_quantity"] == "1"
    assert result["stripe"]["quantity"] == "1" and result["difference"] == 0
    assert result["stripe"]["amount"] == result["ours"]["amount"] == 3
    # And nothing of the real customer's changed: usage, rollups, ledger, reported hours, Stripe.
    assert await real_state(world, [customer]) == before


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_every_charge_by_mode_passes_on_one_test_customer_with_a_subscription_per_price(
    world: World, api: httpx.AsyncClient, stripe_version: str
) -> None:
    customer = await customer_with_usage(world)
    before = await real_state(world, [customer])

    results = [await meter_test(api, world.meters[mode]) for mode in MODES]

    for result in results:
        assert result["pass"] is True, result
        assert result["difference"] == 0 and result["stripe"]["amount"] == result["ours"]["amount"] > 0
    assert len({r["customer_id"] for r in results}) == 1
    assert len({r["subscription_id"] for r in results}) == len(MODES)
    assert len(meter_test_customers(world)) == 1
    assert await real_state(world, [customer]) == before
    # The runs reported the test items only.
    async with services_of(world.app).database.read() as session:
        items = set(
            await session.scalars(
                select(UsageReport.subscription_item_id)
                .join(ReportRun, ReportRun.id == UsageReport.run_id)
                .where(ReportRun.kind == "meter_test")
            )
        )
    assert items == {r["subscription_item_id"] for r in results}


async def test_the_test_customer_and_subscription_are_reused_across_runs(
    world: World, api: httpx.AsyncClient
) -> None:
    first = await meter_test(api, world.meters[ChargeBy.SUM])
    second = await meter_test(api, world.meters[ChargeBy.SUM])

    assert first["pass"] is True and second["pass"] is True, second
    assert "customer and subscription made now" in check(first, "subscription")["detail"]
    assert "reused" in check(second, "subscription")["detail"]
    assert (second["customer_id"], second["subscription_id"]) == (
        first["customer_id"],
        first["subscription_id"],
    )
    assert len(meter_test_customers(world)) == 1
    listed = world.stripe.v1.subscriptions.list({"customer": first["customer_id"]}).data
    assert [s.id for s in listed] == [first["subscription_id"]]
    assert second["stripe"]["quantity"] == "2"  # both runs' events, on the same test subscription


async def test_a_test_subscription_or_customer_gone_from_stripe_is_replaced(
    world: World, api: httpx.AsyncClient
) -> None:
    first = await meter_test(api, world.meters[ChargeBy.SUM])
    world.stripe.v1.subscriptions.cancel(first["subscription_id"])

    second = await meter_test(api, world.meters[ChargeBy.SUM])

    assert second["pass"] is True, second
    assert second["customer_id"] == first["customer_id"]
    assert second["subscription_id"] != first["subscription_id"]
    world.stripe.v1.customers.delete(first["customer_id"])

    third = await meter_test(api, world.meters[ChargeBy.SUM])

    assert third["pass"] is True, third
    assert third["customer_id"] != first["customer_id"]
    assert "customer and subscription made now" in check(third, "subscription")["detail"]


async def test_the_test_customer_is_no_console_customer_and_only_meter_tests_report_it(
    world: World, api: httpx.AsyncClient
) -> None:
    customer = await customer_with_usage(world)
    result = await meter_test(api, world.meters[ChargeBy.SUM])
    assert result["pass"] is True, result

    listed = (await api.get("/v1/admin/customers", headers=ADMIN)).json()
    detail = await api.get(f"/v1/admin/customers/{METER_TEST_USER_ID}", headers=ADMIN)
    login = await api.post("/v1/auth/login", json={"email": METER_TEST_EMAIL, "password": "x" * 12})

    assert [c["user_id"] for c in listed["data"]] == [customer.user_id] and listed["total"] == 1
    assert detail.status_code == 404
    assert login.status_code in (401, 422)
    # The hourly report leaves the test customer's usage to the Meter Test (in live mode it could not be
    # sent at all): one more test call is not reported by it, and the next Meter Test reports both.
    await meter_test(api, world.meters[ChargeBy.LAST])
    hourly = await world.report(include_open_hour=True)
    async with services_of(world.app).database.read() as session:
        hourly_rows = await session.scalar(
            select(func.count()).select_from(UsageReport).where(UsageReport.run_id == hourly.run_id)
        )
        kinds = set(
            await session.scalars(
                select(ReportRun.kind)
                .join(UsageReport, UsageReport.run_id == ReportRun.id)
                .where(UsageReport.user_id == METER_TEST_USER_ID)
            )
        )
    assert hourly.failed == 0 and hourly_rows == 0
    assert kinds == {"meter_test"}
    again = await meter_test(api, world.meters[ChargeBy.SUM])
    assert again["pass"] is True and again["stripe"]["quantity"] == "3", again


async def test_real_traffic_naming_the_test_customer_bills_no_one(
    world: World, api: httpx.AsyncClient
) -> None:
    result = await meter_test(api, world.meters[ChargeBy.SUM])
    now = world.now.isoformat()
    events = [
        {
            "id": "naming-user",
            "user_id": METER_TEST_USER_ID,
            "route": "/x",
            "method": "GET",
            "timestamp": now,
        },
        {
            "id": "naming-company",
            "customer": result["customer_id"],
            "route": "/x",
            "method": "GET",
            "timestamp": now,
        },
    ]

    response = await api.post("/v1/usage/events", json={"events": events}, headers=ADMIN)

    assert response.status_code == 200, response.text
    assert response.json()["unattributed"] == [0, 1]


async def test_filters_no_event_can_meet_fail_before_anything_is_made(
    world: World, api: httpx.AsyncClient
) -> None:
    contradictory = {"and": [{"field": "route", "value": "/v1/a"}, {"field": "route", "value": "/v1/b"}]}
    await set_filters(api, world.meters[ChargeBy.SUM], contradictory)

    result = await meter_test(api, world.meters[ChargeBy.SUM])
    derived = await api.get(f"/v1/admin/meters/{world.meters[ChargeBy.SUM]}/test-event", headers=ADMIN)

    assert result["pass"] is False
    assert result["reason"] == (
        "No event can match this meter's filters: route is /v1/a and route is /v1/b cannot all hold at once"
    )
    assert [c["name"] for c in result["checks"]] == ["stripe_connection", "price", "event"]
    assert meter_test_customers(world) == []
    assert derived.status_code == 200 and derived.json()["event"] is None
    assert derived.json()["reason"] == result["reason"]


async def test_the_console_gets_the_derived_event_to_edit(world: World, api: httpx.AsyncClient) -> None:
    meter_id = world.meters[ChargeBy.SUM]
    await set_filters(api, meter_id, README_FILTERS)

    derived = await api.get(f"/v1/admin/meters/{meter_id}/test-event", headers=ADMIN)
    user = await sign_up(api, "dev@example.com")
    not_admin = await api.get(f"/v1/admin/meters/{meter_id}/test-event", headers=user.headers)
    unknown = await api.get("/v1/admin/meters/meter_nope/test-event", headers=ADMIN)

    assert derived.status_code == 200, derived.text
    assert derived.json() == {
        "meter_id": meter_id,
        "event": {
            "route": "/v1/search",
            "method": "GET",
            "status": 200,
            "weight": 1,
            "company": None,
            "request_headers": {},
            "response_headers": {},
            "metadata": {"meter_test": True},
        },
        "reason": None,
    }
    assert not_admin.status_code == 403
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "meter_not_found"


async def test_an_edited_event_is_sent_as_given(world: World, api: httpx.AsyncClient) -> None:
    meter_id = world.meters[ChargeBy.SUM]
    await set_filters(api, meter_id, README_FILTERS)
    event = {"route": "/v1/search?q=cats", "method": "post", "status": 200, "metadata": {"source": "console"}}

    result = await meter_test(api, meter_id, {"event": event})

    assert result["pass"] is True, result
    assert "(as given)" in check(result, "event")["detail"]
    async with services_of(world.app).database.read() as session:
        stored = (await session.scalars(select(UsageEvent).where(UsageEvent.source == "meter_test"))).one()
    assert (stored.user_id, stored.method, stored.route, stored.status) == (
        METER_TEST_USER_ID,
        "POST",
        "/v1/search",
        200,
    )
    assert '"source":"console"' in stored.payload


async def test_an_edited_event_the_filters_refuse_fails_naming_the_condition(
    world: World, api: httpx.AsyncClient
) -> None:
    meter_id = world.meters[ChargeBy.SUM]
    await set_filters(api, meter_id, README_FILTERS)

    result = await meter_test(api, meter_id, {"event": {"route": "/v1/other"}})
    invalid = await api.post(
        f"/v1/admin/meters/{meter_id}/test", json={"event": {"status": 99}}, headers=ADMIN
    )

    assert result["pass"] is False
    assert result["reason"] == (
        "the event given does not match this meter's filters: it fails route is /v1/search "
        "(the event has /v1/other)"
    )
    assert meter_test_customers(world) == []
    assert invalid.status_code == 422


async def test_a_subscription_id_is_refused_in_test_mode(world: World, api: httpx.AsyncClient) -> None:
    [customer] = await world.add_customers(1)

    response = await api.post(
        f"/v1/admin/meters/{world.meters[ChargeBy.SUM]}/test",
        json={"subscription_id": customer.subscription_id},
        headers=ADMIN,
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "subscription_id_live_only"


async def test_meter_test_fails_on_a_price_that_is_not_metered(world: World, api: httpx.AsyncClient) -> None:
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
    assert meter_test_customers(world) == []


async def test_meter_test_fails_with_a_bad_stripe_key(world: World, api: httpx.AsyncClient) -> None:
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


# -- live mode ----------------------------------------------------------------------------------------------


@pytest.fixture
def live_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat the key as a live one. The emulator takes test keys only, so the key stays sk_test_ underneath:
    what is tested is what the Meter Test does once it has decided the mode is live."""
    monkeypatch.setattr(meter_test_module, "key_mode", lambda config: "live")


def stripe_writes(world: World) -> dict[str, int]:
    requests = world.emulator.stats()["requests"]
    return {name: count for name, count in requests.items() if name.startswith("POST ")}


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_live_mode_sends_nothing_and_compares_a_real_subscription(
    world: World, api: httpx.AsyncClient, live_key: None, stripe_version: str
) -> None:
    customer = await customer_with_usage(world)
    before = await real_state(world, [customer])
    writes = stripe_writes(world)
    async with services_of(world.app).database.read() as session:
        events = await session.scalar(select(func.count()).select_from(UsageEvent))
        runs = await session.scalar(select(func.count()).select_from(ReportRun))

    result = await meter_test(api, world.meters[ChargeBy.SUM])

    assert result["pass"] is True, result
    assert result["mode"] == "live"
    assert [c["name"] for c in result["checks"]] == CHECKS
    assert check(result, "test_event")["detail"].startswith("skipped (live mode")
    assert check(result, "report")["detail"].startswith("skipped (live mode)")
    assert result["subscription_id"] == customer.subscription_id
    assert result["stripe"]["quantity"] == "3" and result["difference"] == 0
    # Nothing was made or sent: no event, no run, no test customer, no Stripe write but the preview.
    assert await real_state(world, [customer]) == before
    async with services_of(world.app).database.read() as session:
        assert await session.scalar(select(func.count()).select_from(UsageEvent)) == events
        assert await session.scalar(select(func.count()).select_from(ReportRun)) == runs
        assert await session.get(User, METER_TEST_USER_ID) is None
    assert meter_test_customers(world) == []
    made = {k: v - writes.get(k, 0) for k, v in stripe_writes(world).items() if v != writes.get(k, 0)}
    assert set(made) <= {"POST /v1/invoices/create_preview"}, made


async def test_live_mode_never_uses_the_test_customers_subscription(
    world: World, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tested = await meter_test(api, world.meters[ChargeBy.SUM])  # test mode: its own subscription exists
    assert tested["pass"] is True, tested
    monkeypatch.setattr(meter_test_module, "key_mode", lambda config: "live")

    result = await meter_test(api, world.meters[ChargeBy.SUM])
    named = await meter_test(api, world.meters[ChargeBy.SUM], {"subscription_id": tested["subscription_id"]})

    assert result["pass"] is False
    assert "No active subscription has the meter's price" in result["reason"]
    assert "live mode the Meter Test sends nothing" in result["reason"]
    assert (
        named["pass"] is False and f"We know no subscription {tested['subscription_id']}" in named["reason"]
    )


async def test_live_mode_explains_a_subscription_without_the_meters_price(
    world: World, api: httpx.AsyncClient, live_key: None
) -> None:
    [other] = await world.add_customers(1)
    only_last = await world.subscribe(other.user_id, "other@example.com", modes=[ChargeBy.LAST])

    result = await meter_test(api, world.meters[ChargeBy.SUM], {"subscription_id": only_last.subscription_id})

    assert result["pass"] is False
    assert "wrong price" in result["reason"] and world.prices[ChargeBy.SUM]["id"] in result["reason"]
    assert check(result, "subscription")["ok"] is False


async def test_live_mode_reports_unreported_usage_instead_of_sending_it(
    world: World, api: httpx.AsyncClient, live_key: None
) -> None:
    [customer] = await world.add_customers(1)
    await world.use(customer, world.now.replace(minute=0, second=0, microsecond=0), 2, minute=0)
    world.advance(timedelta(seconds=1))

    result = await meter_test(api, world.meters[ChargeBy.SUM])

    assert result["pass"] is False
    assert check(result, "invoice_preview")["ok"] is True  # Stripe bills what our ledger sent: nothing yet
    usage = check(result, "usage_reported")
    assert usage["ok"] is False and "our usage this period is 2 but Stripe holds 0" in usage["detail"]
    assert world.stripe_quantity(customer, ChargeBy.SUM) == 0
