"""POST /v1/checkout/sessions against the emulator: validation, the user's Stripe customer, idempotency."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from portal_api.billing.models import Customer
from stripe_emulator.testing import EmulatorServer
from tests.api.checkout.flow import complete, error_of, pay_on_hosted_page, rows, start_checkout
from tests.fixtures.members import sign_up


async def test_checkout_creates_subscription_session_for_a_new_stripe_customer(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer, stripe_sdk: Any
) -> None:
    member = await sign_up(api, "ada@example.com", name="Ada")

    checkout = await start_checkout(api, member, catalog["prices"]["package"])

    assert checkout["id"].startswith("cs_test_")
    assert checkout["url"] == f"{emulator.url}/c/pay/{checkout['id']}"
    session = stripe_sdk.v1.checkout.sessions.retrieve(checkout["id"], {"expand": ["customer", "line_items"]})
    assert session.mode == "subscription" and session.status == "open"
    assert session.client_reference_id == member.id
    assert session.success_url == "http://portal.test/return?checkout_session_id={CHECKOUT_SESSION_ID}"
    assert session.cancel_url == "http://portal.test/pricing?canceled=1"
    assert session.customer.email == "ada@example.com" and session.customer.name == "Ada"
    assert session.customer.metadata["user_id"] == member.id
    [line_item] = session.line_items.data
    assert line_item.price.id == catalog["prices"]["package"] and line_item.quantity is None  # metered
    [customer] = await rows(app, Customer, user_id=member.id)
    assert customer.stripe_customer_id == session.customer.id


async def test_licensed_plan_line_item_has_quantity_one(
    api: httpx.AsyncClient, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    member = await sign_up(api)

    checkout = await start_checkout(api, member, catalog["prices"]["free"])

    [line_item] = stripe_sdk.v1.checkout.sessions.line_items.list(checkout["id"]).data
    assert line_item.quantity == 1


async def test_second_click_reuses_the_customer_and_the_open_session(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)

    first = await start_checkout(api, member, catalog["prices"]["payg"])
    second = await start_checkout(api, member, catalog["prices"]["payg"])
    other_plan = await start_checkout(api, member, catalog["prices"]["package"])

    assert first == second and other_plan["id"] != first["id"]
    assert emulator.request_count("POST", "/v1/customers") == 1
    assert emulator.request_count("POST", "/v1/checkout/sessions") == 3  # the repeat was an idempotent replay
    assert len(await rows(app, Customer, user_id=member.id)) == 1


async def test_client_idempotency_key_tells_deliberate_new_sessions_apart(
    api: httpx.AsyncClient, catalog: dict[str, Any]
) -> None:
    member = await sign_up(api)
    price = catalog["prices"]["payg"]

    a1 = await start_checkout(api, member, price, **{"Idempotency-Key": "tab-1"})
    a2 = await start_checkout(api, member, price, **{"Idempotency-Key": "tab-1"})
    b = await start_checkout(api, member, price, **{"Idempotency-Key": "tab-2"})

    assert a1["id"] == a2["id"] and b["id"] != a1["id"]


async def test_concurrent_first_checkouts_make_one_stripe_customer(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    member = await sign_up(api, "race@example.com")

    responses = await asyncio.gather(
        *(
            api.post(
                "/v1/checkout/sessions",
                json={"price_id": catalog["prices"]["payg"]},
                headers={**member.headers, "Idempotency-Key": f"tab-{i}"},
            )
            for i in range(5)
        )
    )

    assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
    assert len(stripe_sdk.v1.customers.list({"email": "race@example.com"}).data) == 1
    assert len(await rows(app, Customer, user_id=member.id)) == 1


async def test_subscribed_user_is_told_how_to_switch_plans_with_409(
    api: httpx.AsyncClient, catalog: dict[str, Any]
) -> None:
    member = await sign_up(api)
    checkout = await start_checkout(api, member, catalog["prices"]["free"])
    await complete(api, member, await pay_on_hosted_page(checkout["url"]))

    response = await api.post(
        "/v1/checkout/sessions", json={"price_id": catalog["prices"]["payg"]}, headers=member.headers
    )

    assert error_of(response) == (409, "already_subscribed")
    message = response.json()["error"]["message"]
    assert "Free" in message and "Switch to this plan" in message and "Manage billing" in message
    assert "POST" not in message and "/v1/" not in message  # words for a person, not an internal call


async def test_unknown_price_is_404_price_not_found(api: httpx.AsyncClient, catalog: dict[str, Any]) -> None:
    member = await sign_up(api)

    response = await api.post(
        "/v1/checkout/sessions", json={"price_id": "price_nope"}, headers=member.headers
    )

    assert error_of(response) == (404, "price_not_found")
    assert "price_nope" in response.json()["error"]["message"]


async def test_archived_price_is_422_price_inactive(
    api: httpx.AsyncClient, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    member = await sign_up(api)
    stripe_sdk.v1.prices.update(catalog["prices"]["payg"], {"active": False})

    response = await api.post(
        "/v1/checkout/sessions", json={"price_id": catalog["prices"]["payg"]}, headers=member.headers
    )

    assert error_of(response) == (422, "price_inactive")


async def test_one_time_price_is_422_price_not_recurring(
    api: httpx.AsyncClient, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    member = await sign_up(api)
    one_time = stripe_sdk.v1.prices.create(
        {"product": catalog["product"], "currency": "eur", "unit_amount": 500}
    )

    response = await api.post("/v1/checkout/sessions", json={"price_id": one_time.id}, headers=member.headers)

    assert error_of(response) == (422, "price_not_recurring")


async def test_missing_or_empty_price_id_is_422_validation_error(api: httpx.AsyncClient) -> None:
    member = await sign_up(api)

    missing = await api.post("/v1/checkout/sessions", json={}, headers=member.headers)
    empty = await api.post("/v1/checkout/sessions", json={"price_id": ""}, headers=member.headers)

    assert error_of(missing) == (422, "validation_error") and "price_id" in missing.json()["error"]["message"]
    assert error_of(empty) == (422, "validation_error")


async def test_checkout_needs_sign_in(api: httpx.AsyncClient, catalog: dict[str, Any]) -> None:
    response = await api.post("/v1/checkout/sessions", json={"price_id": catalog["prices"]["free"]})

    assert error_of(response) == (401, "not_signed_in")


async def test_stripe_outage_is_502_and_the_retry_recovers_the_customer_made_before_it(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer, stripe_sdk: Any
) -> None:
    member = await sign_up(api)
    emulator.add_fault("/v1/checkout/sessions", method="POST")

    response = await api.post(
        "/v1/checkout/sessions", json={"price_id": catalog["prices"]["payg"]}, headers=member.headers
    )

    assert error_of(response) == (502, "upstream_error")
    # The customer Stripe made before the outage is linked (its own short write, before the failed call)...
    [linked] = await rows(app, Customer, user_id=member.id)
    retry = await start_checkout(api, member, catalog["prices"]["payg"])
    assert retry["id"].startswith("cs_test_")
    # ...so the retry reuses it instead of making a second one.
    assert emulator.request_count("POST", "/v1/customers") == 1
    assert stripe_sdk.v1.checkout.sessions.retrieve(retry["id"]).customer == linked.stripe_customer_id
    assert len(stripe_sdk.v1.customers.list({"email": member.email}).data) == 1
    assert len(await rows(app, Customer, user_id=member.id)) == 1


async def test_a_stripe_customer_made_for_the_user_before_a_crash_is_found_again_not_made_twice(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer, stripe_sdk: Any
) -> None:
    member = await sign_up(api)
    # As if a process had created the customer in Stripe and died before writing our row.
    orphan = stripe_sdk.v1.customers.create({"email": member.email, "metadata": {"user_id": member.id}})
    made_before = emulator.request_count("POST", "/v1/customers")

    session = await start_checkout(api, member, catalog["prices"]["payg"])

    assert emulator.request_count("POST", "/v1/customers") == made_before
    [linked] = await rows(app, Customer, user_id=member.id)
    assert linked.stripe_customer_id == orphan.id
    assert stripe_sdk.v1.checkout.sessions.retrieve(session["id"]).customer == orphan.id
