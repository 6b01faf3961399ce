"""POST /v1/checkout/sessions/{id}/complete: sign-up -> checkout -> pay -> complete -> key, exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from portal_api.billing.models import Customer, Subscription, SubscriptionItem
from portal_api.checkout.models import ProvisionedCheckout
from portal_api.config import Settings
from portal_api.keys.models import ApiKey
from stripe_emulator.testing import EmulatorServer
from tests.api.checkout.flow import (
    complete,
    deliver_webhooks,
    error_of,
    pay_on_hosted_page,
    rows,
    start_checkout,
    subscribe,
)
from tests.fixtures.database import running_app
from tests.fixtures.emulator import BASIL, EMULATOR_WEBHOOK_SECRET, emulator_settings
from tests.fixtures.keys import verify_key
from tests.fixtures.members import sign_up


async def test_sign_up_checkout_pay_complete_issues_one_working_key(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    member = await sign_up(api, "ada@example.com", name="Ada")
    checkout = await start_checkout(api, member, catalog["prices"]["package"])
    checkout_session_id = await pay_on_hosted_page(checkout["url"])
    assert checkout_session_id == checkout["id"]

    response = await complete(api, member, checkout_session_id)

    assert response.status_code == 200, response.text
    body = response.json()
    stripe_subscription = stripe_sdk.v1.subscriptions.retrieve(body["subscription"]["id"])
    assert body["customer"] == {"id": stripe_subscription.customer, "email": "ada@example.com", "name": "Ada"}
    assert body["subscription"]["status"] == "active"
    start = datetime.fromisoformat(body["subscription"]["current_period_start"])
    end = datetime.fromisoformat(body["subscription"]["current_period_end"])
    assert start.tzinfo is not None and start.utcoffset() == UTC.utcoffset(None)
    assert start == datetime.fromtimestamp(stripe_subscription.current_period_start, UTC)
    assert end == datetime.fromtimestamp(stripe_subscription.current_period_end, UTC)
    [item] = body["subscription"]["items"]
    assert item == {
        "id": stripe_subscription["items"].data[0].id,
        "price": catalog["prices"]["package"],
        "product": catalog["product"],
    }
    assert body["keys_created"] == 1
    key = body["key"]
    assert key["name"] == "Default key" and key["secret"].startswith("mdp_test_")
    assert key["secret"].startswith(key["prefix"])
    verdict = await verify_key(api, key["secret"])
    assert verdict["valid"] is True and verdict["subscription_status"] == "active"
    assert verdict["plan"] == {
        "price_id": catalog["prices"]["package"],
        "nickname": "$10 per 1,000 calls",
        "product_name": "My API",
    }
    keys = await api.get("/v1/keys", headers=member.headers)
    assert [k["id"] for k in keys.json()["data"]] == [key["id"]]
    [record] = await rows(app, ProvisionedCheckout, stripe_checkout_session_id=checkout_session_id)
    assert record.provisioned_by == "return" and record.first_key_id == key["id"]


async def test_completing_again_returns_the_same_result_without_the_secret(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    checkout_session_id = await subscribe(api, member, catalog["prices"]["payg"])
    first = (await complete(api, member, checkout_session_id)).json()
    stripe_calls = emulator.stats()["total"]

    again = await complete(api, member, checkout_session_id)

    assert again.status_code == 200
    assert again.json() == {**first, "key": None}
    assert first["key"] is not None
    assert len(await rows(app, ApiKey, user_id=member.id)) == 1
    assert emulator.stats()["total"] == stripe_calls + 1  # only the session retrieve: nothing re-provisioned


async def test_ten_concurrent_completes_create_one_link_one_subscription_one_key(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any]
) -> None:
    member = await sign_up(api)
    checkout_session_id = await subscribe(api, member, catalog["prices"]["payg"])

    responses = await asyncio.gather(*(complete(api, member, checkout_session_id) for _ in range(10)))

    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    with_secret = [b for b in bodies if b["key"] is not None]
    assert len(with_secret) == 1
    assert all(b == {**with_secret[0], "key": None} for b in bodies if b["key"] is None)
    assert len(await rows(app, Customer, user_id=member.id)) == 1
    assert len(await rows(app, Subscription, user_id=member.id)) == 1
    assert len(await rows(app, SubscriptionItem)) == 1
    assert len(await rows(app, ApiKey, user_id=member.id)) == 1
    assert len(await rows(app, ProvisionedCheckout)) == 1


async def test_webhook_first_links_the_subscription_and_complete_then_issues_the_key(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    checkout_session_id = await subscribe(api, member, catalog["prices"]["payg"])

    acks = await deliver_webhooks(api, emulator)

    assert acks and all(a.status_code == 200 for a in acks)
    [record] = await rows(app, ProvisionedCheckout, stripe_checkout_session_id=checkout_session_id)
    assert record.provisioned_by == "webhook" and record.user_id == member.id and record.keys_created == 0
    [subscription] = await rows(app, Subscription, user_id=member.id)
    assert subscription.status == "active"
    assert await rows(app, ApiKey, user_id=member.id) == []

    body = (await complete(api, member, checkout_session_id)).json()
    again = (await complete(api, member, checkout_session_id)).json()

    assert body["subscription"]["id"] == subscription.stripe_subscription_id
    assert body["keys_created"] == 1 and body["key"]["secret"].startswith("mdp_test_")
    assert again == {**body, "key": None}
    assert len(await rows(app, ApiKey, user_id=member.id)) == 1
    assert len(await rows(app, Subscription, user_id=member.id)) == 1
    assert len(await rows(app, Customer, user_id=member.id)) == 1


async def test_after_the_webhook_ten_concurrent_completes_issue_one_key(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    checkout_session_id = await subscribe(api, member, catalog["prices"]["payg"])
    await deliver_webhooks(api, emulator, type="checkout.session.completed")

    responses = await asyncio.gather(*(complete(api, member, checkout_session_id) for _ in range(10)))

    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    assert sum(r.json()["key"] is not None for r in responses) == 1
    assert {r.json()["keys_created"] for r in responses} == {1}
    [key] = await rows(app, ApiKey, user_id=member.id)
    [record] = await rows(app, ProvisionedCheckout)
    assert record.first_key_id == key.id and record.provisioned_by == "webhook"


async def test_return_first_then_webhooks_change_nothing(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    checkout_session_id = await subscribe(api, member, catalog["prices"]["free"])
    body = (await complete(api, member, checkout_session_id)).json()

    acks = await deliver_webhooks(api, emulator)

    assert {a.status_code for a in acks} == {200}
    [record] = await rows(app, ProvisionedCheckout)
    assert record.provisioned_by == "return" and record.first_key_id == body["key"]["id"]
    assert len(await rows(app, ApiKey, user_id=member.id)) == 1
    assert len(await rows(app, Subscription, user_id=member.id)) == 1
    assert len(await rows(app, Customer, user_id=member.id)) == 1


async def test_completes_racing_the_webhook_still_make_one_of_everything(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    checkout_session_id = await subscribe(api, member, catalog["prices"]["payg"])

    results = await asyncio.gather(
        deliver_webhooks(api, emulator, type="checkout.session.completed"),
        *(complete(api, member, checkout_session_id) for _ in range(5)),
    )

    completes = results[1:]
    assert all(isinstance(r, httpx.Response) and r.status_code == 200 for r in completes)
    assert sum(r.json()["key"] is not None for r in completes if isinstance(r, httpx.Response)) == 1
    assert len(await rows(app, ApiKey, user_id=member.id)) == 1
    assert len(await rows(app, Subscription, user_id=member.id)) == 1
    assert len(await rows(app, ProvisionedCheckout)) == 1


async def test_user_who_already_has_a_key_gets_no_new_one(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any]
) -> None:
    member = await sign_up(api)
    made = await api.post("/v1/keys", json={"name": "mine"}, headers=member.headers)
    assert made.status_code == 201, made.text
    checkout_session_id = await subscribe(api, member, catalog["prices"]["free"])

    body = (await complete(api, member, checkout_session_id)).json()

    assert body["keys_created"] == 0 and body["key"] is None
    assert [k.name for k in await rows(app, ApiKey, user_id=member.id)] == ["mine"]


async def test_another_users_session_is_404_like_an_unknown_one(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any]
) -> None:
    owner = await sign_up(api, "owner@example.com")
    intruder = await sign_up(api, "intruder@example.com")
    checkout_session_id = await subscribe(api, owner, catalog["prices"]["payg"])

    stolen = await complete(api, intruder, checkout_session_id)
    unknown = await complete(api, intruder, "cs_test_doesnotexist")

    assert error_of(stolen) == error_of(unknown) == (404, "checkout_session_not_found")
    assert stolen.json() == unknown.json()
    assert await rows(app, ProvisionedCheckout) == [] and await rows(app, ApiKey) == []
    assert (await complete(api, owner, checkout_session_id)).status_code == 200


async def test_another_users_provisioned_session_stays_404(
    api: httpx.AsyncClient, catalog: dict[str, Any]
) -> None:
    owner = await sign_up(api, "owner@example.com")
    intruder = await sign_up(api, "intruder@example.com")
    checkout_session_id = await subscribe(api, owner, catalog["prices"]["payg"])
    assert (await complete(api, owner, checkout_session_id)).status_code == 200

    response = await complete(api, intruder, checkout_session_id)

    assert error_of(response) == (404, "checkout_session_not_found")


async def test_open_session_is_409_checkout_not_complete(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any]
) -> None:
    member = await sign_up(api)
    checkout = await start_checkout(api, member, catalog["prices"]["payg"])

    response = await complete(api, member, checkout["id"])

    assert error_of(response) == (409, "checkout_not_complete")
    assert await rows(app, ProvisionedCheckout) == []


async def test_expired_session_is_409_checkout_expired(
    api: httpx.AsyncClient, catalog: dict[str, Any], stripe_sdk: Any
) -> None:
    member = await sign_up(api)
    checkout = await start_checkout(api, member, catalog["prices"]["payg"])
    stripe_sdk.v1.checkout.sessions.expire(checkout["id"])

    response = await complete(api, member, checkout["id"])

    assert error_of(response) == (409, "checkout_expired")


async def test_pricing_table_session_without_reference_is_matched_by_the_payers_email(
    api: httpx.AsyncClient, catalog: dict[str, Any], stripe_sdk: Any, emulator: EmulatorServer
) -> None:
    member = await sign_up(api, "table@example.com")
    other = await sign_up(api, "someone-else@example.com")
    # What a Stripe Pricing Table does in the browser: its own session, no client_reference_id.
    session = stripe_sdk.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "line_items": [{"price": catalog["prices"]["payg"]}],
            "success_url": "http://portal.test/return?checkout_session_id={CHECKOUT_SESSION_ID}",
            "customer_email": "Table@Example.com",
        }
    )
    await pay_on_hosted_page(session.url)

    foreign = await complete(api, other, session.id)
    mine = await complete(api, member, session.id)

    assert error_of(foreign) == (404, "checkout_session_not_found")
    assert mine.status_code == 200, mine.text
    assert mine.json()["customer"]["email"] == "Table@Example.com"  # as Stripe has it
    assert mine.json()["key"] is not None


async def test_stripe_outage_during_complete_is_502_and_a_retry_succeeds(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    checkout_session_id = await subscribe(api, member, catalog["prices"]["payg"])
    emulator.add_fault("/v1/subscriptions/", method="GET")

    failed = await complete(api, member, checkout_session_id)
    retried = await complete(api, member, checkout_session_id)

    assert error_of(failed) == (502, "upstream_error")
    assert retried.status_code == 200 and retried.json()["key"] is not None
    assert len(await rows(app, ProvisionedCheckout)) == 1


async def test_complete_needs_sign_in(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/checkout/sessions/cs_test_x/complete")

    assert error_of(response) == (401, "not_signed_in")


async def test_whole_flow_on_basil_takes_the_period_from_the_items(
    settings_factory: Callable[..., Settings],
    catalog: dict[str, Any],
    emulator: EmulatorServer,
    stripe_sdk: Any,
) -> None:
    settings = emulator_settings(
        settings_factory, emulator, stripe_api_version=BASIL, stripe_webhook_secret=EMULATOR_WEBHOOK_SECRET
    )
    async with running_app(settings) as basil_app:
        transport = httpx.ASGITransport(app=basil_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            member = await sign_up(client, "basil@example.com")
            body = (
                await complete(client, member, await subscribe(client, member, catalog["prices"]["free"]))
            ).json()
            shown = (await client.get("/v1/subscription", headers=member.headers)).json()

    legacy_view = stripe_sdk.v1.subscriptions.retrieve(body["subscription"]["id"])  # 2020-08-27 shape
    expected_end = datetime.fromtimestamp(legacy_view.current_period_end, UTC)
    assert datetime.fromisoformat(body["subscription"]["current_period_end"]) == expected_end
    assert datetime.fromisoformat(shown["current_period_end"]) == expected_end
    assert body["key"] is not None and shown["status"] == "active"
