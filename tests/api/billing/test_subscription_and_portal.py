"""GET /v1/subscription and POST /v1/billing-portal for the signed-in user."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from stripe_emulator.testing import EmulatorServer
from tests.api.checkout.flow import complete, error_of, start_checkout, subscribe
from tests.fixtures.members import sign_up


async def test_subscription_shows_status_plan_period_and_items(
    api: httpx.AsyncClient, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    member = await sign_up(api)
    body = (await complete(api, member, await subscribe(api, member, catalog["prices"]["payg"]))).json()

    response = await api.get("/v1/subscription", headers=member.headers)

    assert response.status_code == 200
    shown = response.json()
    stripe_subscription = stripe_sdk.v1.subscriptions.retrieve(body["subscription"]["id"])
    assert shown["id"] == stripe_subscription.id and shown["status"] == "active"
    assert shown["plan"] == {
        "price_id": catalog["prices"]["payg"],
        "nickname": "Pay as you go",
        "product_name": "My API",
    }
    assert datetime.fromisoformat(shown["current_period_end"]).timestamp() == (
        stripe_subscription.current_period_end
    )
    assert shown["cancel_at_period_end"] is False and shown["canceled_at"] is None
    assert shown["items"] == [
        {
            "id": stripe_subscription["items"].data[0].id,
            "price": catalog["prices"]["payg"],
            "product": catalog["product"],
            "usage_type": "metered",
        }
    ]


async def test_no_subscription_is_404_no_subscription(api: httpx.AsyncClient) -> None:
    member = await sign_up(api)

    response = await api.get("/v1/subscription", headers=member.headers)

    assert error_of(response) == (404, "no_subscription")


async def test_subscription_needs_sign_in(api: httpx.AsyncClient) -> None:
    assert error_of(await api.get("/v1/subscription")) == (401, "not_signed_in")


async def test_billing_portal_opens_for_the_users_customer_and_returns_to_the_dashboard(
    api: httpx.AsyncClient, catalog: dict[str, Any], emulator: EmulatorServer, stripe_sdk: Any
) -> None:
    member = await sign_up(api)
    body = (await complete(api, member, await subscribe(api, member, catalog["prices"]["free"]))).json()

    response = await api.post("/v1/billing-portal", headers=member.headers)

    assert response.status_code == 200
    url = response.json()["url"]
    assert url.startswith(f"{emulator.url}/p/session/bps_")
    async with httpx.AsyncClient() as browser:
        page = await browser.get(url)
    assert page.status_code == 200
    assert "http://portal.test/dashboard" in page.text and body["subscription"]["id"] in page.text


async def test_billing_portal_works_once_checkout_made_the_customer(
    api: httpx.AsyncClient, catalog: dict[str, Any]
) -> None:
    member = await sign_up(api)
    await start_checkout(api, member, catalog["prices"]["payg"])  # not paid: the customer exists already

    response = await api.post("/v1/billing-portal", headers=member.headers)

    assert response.status_code == 200 and "/p/session/bps_" in response.json()["url"]


async def test_billing_portal_without_customer_is_404_no_customer(api: httpx.AsyncClient) -> None:
    member = await sign_up(api)

    response = await api.post("/v1/billing-portal", headers=member.headers)

    assert error_of(response) == (404, "no_customer")


async def test_billing_portal_needs_sign_in(api: httpx.AsyncClient) -> None:
    assert error_of(await api.post("/v1/billing-portal")) == (401, "not_signed_in")
