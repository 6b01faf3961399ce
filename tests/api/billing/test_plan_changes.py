"""Plan changes through the API against the emulator: preview (Stripe's proration), switch up and down,
metered swaps, cancel at period end and resume, the webhooks of a change made in the billing portal, and
the 4xx answers. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from portal_api.billing.models import SubscriptionItem, SubscriptionItemPrice
from portal_api.config import Settings
from portal_api.main import services_of
from stripe_emulator.testing import EmulatorServer
from tests.api.checkout.flow import complete, deliver_webhooks, error_of, subscribe
from tests.fixtures.emulator import BASIL, EMULATOR_WEBHOOK_SECRET, LEGACY, emulator_settings
from tests.fixtures.members import ADMIN_TOKEN, Member, sign_up


@pytest.fixture
def stripe_version() -> str:
    return LEGACY


@pytest.fixture
def settings(
    settings_factory: Callable[..., Settings], emulator: EmulatorServer, stripe_version: str
) -> Settings:
    return emulator_settings(
        settings_factory,
        emulator,
        stripe_api_key="sk_test_portal_under_test",
        stripe_api_version=stripe_version,
        stripe_webhook_secret=EMULATOR_WEBHOOK_SECRET,
        admin_bootstrap_token=ADMIN_TOKEN,
    )


@pytest.fixture
def stripe_sdk(emulator: EmulatorServer, stripe_version: str) -> Any:
    return emulator.client(version=stripe_version)


@pytest.fixture
def plans(emulator: EmulatorServer, stripe_sdk: Any) -> dict[str, str]:
    """Licensed monthly plans Basic ($10) and Pro ($30) of one product, and a one-time price."""
    product = stripe_sdk.v1.products.create({"name": "My API"})
    monthly = {"interval": "month"}
    made = {
        name: stripe_sdk.v1.prices.create(
            {
                "product": product.id,
                "currency": "usd",
                "unit_amount": amount,
                "nickname": name,
                "recurring": monthly,
            }
        ).id
        for name, amount in (("Basic", 1000), ("Pro", 3000))
    }
    made["one_time"] = stripe_sdk.v1.prices.create(
        {"product": product.id, "currency": "usd", "unit_amount": 500}
    ).id
    made["euro"] = stripe_sdk.v1.prices.create(
        {"product": product.id, "currency": "eur", "unit_amount": 900, "recurring": monthly}
    ).id
    made["product"] = product.id
    return made


def prorated(amount: int, remaining: int, span: int) -> int:
    return int((Decimal(amount) * remaining / span).to_integral_value(rounding=ROUND_HALF_UP))


async def subscribed(api: httpx.AsyncClient, price_id: str, email: str = "dev@example.com") -> Member:
    member = await sign_up(api, email)
    response = await complete(api, member, await subscribe(api, member, price_id))
    assert response.status_code == 200, response.text
    return member


async def preview(api: httpx.AsyncClient, member: Member, price_id: str, **extra: Any) -> dict[str, Any]:
    response = await api.post(
        "/v1/subscription/change/preview", json={"price_id": price_id, **extra}, headers=member.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def change(api: httpx.AsyncClient, member: Member, price_id: str, **extra: Any) -> httpx.Response:
    return await api.post(
        "/v1/subscription/change", json={"price_id": price_id, **extra}, headers=member.headers
    )


def stripe_period(stripe_sdk: Any, subscription_id: str) -> tuple[int, int]:
    data = stripe_sdk.v1.subscriptions.retrieve(subscription_id).to_dict()
    item = data["items"]["data"][0]
    return (
        data.get("current_period_start") or item["current_period_start"],
        data.get("current_period_end") or item["current_period_end"],
    )


def stamp(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp())


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_upgrade_preview_is_stripes_proration_and_the_switch_bills_it(
    api: httpx.AsyncClient, emulator: EmulatorServer, stripe_sdk: Any, plans: dict[str, str]
) -> None:
    member = await subscribed(api, plans["Basic"])
    before = (await api.get("/v1/subscription", headers=member.headers)).json()
    emulator.advance_clock(days=10)
    start, end = stripe_period(stripe_sdk, before["id"])

    shown = await preview(api, member, plans["Pro"])

    moment = stamp(shown["proration_date"])
    remaining = end - moment
    credit, charge = -prorated(1000, remaining, end - start), prorated(3000, remaining, end - start)
    assert (shown["from_price_id"], shown["price_id"], shown["currency"]) == (
        plans["Basic"],
        plans["Pro"],
        "usd",
    )
    assert shown["proration_amount"] == credit + charge
    assert sorted(line["amount"] for line in shown["lines"] if line["proration"]) == [credit, charge]
    assert shown["invoice_now"] is False and shown["invoice_amount_due"] == 3000 + credit + charge
    assert stamp(shown["invoice_date"]) == end
    emulator.advance_clock(minutes=3)  # the customer reads the dialog; the switch is billed as previewed

    switched = await change(api, member, plans["Pro"], preview_token=shown["preview_token"])

    assert switched.status_code == 200, switched.text
    after = switched.json()
    assert after["plan"]["price_id"] == plans["Pro"] and after["plan"]["nickname"] == "Pro"
    assert [i["id"] for i in after["items"]] == [i["id"] for i in before["items"]]  # Stripe keeps the item
    upcoming = (await api.get("/v1/invoices/upcoming", headers=member.headers)).json()["stripe"]
    assert upcoming["amount_due"] == shown["invoice_amount_due"]
    assert sorted(line["amount"] for line in upcoming["lines"])[:2] == sorted([credit, charge])
    emulator.advance_clock(seconds=end - emulator.now() + 1)
    renewal = stripe_sdk.v1.invoices.list({"subscription": before["id"]}).data[0]
    assert (renewal.billing_reason, renewal.total) == ("subscription_cycle", 3000 + credit + charge)


async def test_downgrade_credits_the_unused_time_on_the_next_invoice(
    api: httpx.AsyncClient, emulator: EmulatorServer, stripe_sdk: Any, plans: dict[str, str]
) -> None:
    member = await subscribed(api, plans["Pro"])
    emulator.advance_clock(days=5)

    shown = await preview(api, member, plans["Basic"])
    switched = await change(api, member, plans["Basic"], preview_token=shown["preview_token"])

    assert switched.status_code == 200 and switched.json()["plan"]["price_id"] == plans["Basic"]
    assert shown["proration_amount"] < 0
    upcoming = (await api.get("/v1/invoices/upcoming", headers=member.headers)).json()["stripe"]
    assert upcoming["amount_due"] == max(1000 + shown["proration_amount"], 0) == shown["invoice_amount_due"]


async def test_always_invoice_charges_the_upgrade_now(
    api: httpx.AsyncClient, emulator: EmulatorServer, stripe_sdk: Any, plans: dict[str, str]
) -> None:
    member = await subscribed(api, plans["Basic"])
    emulator.advance_clock(days=3)

    shown = await preview(api, member, plans["Pro"], proration="always_invoice")
    switched = await change(
        api, member, plans["Pro"], proration="always_invoice", preview_token=shown["preview_token"]
    )

    assert switched.status_code == 200
    assert shown["invoice_now"] is True and shown["invoice_amount_due"] == shown["proration_amount"] > 0
    latest = stripe_sdk.v1.invoices.list({"subscription": switched.json()["id"]}).data[0]
    assert (latest.billing_reason, latest.amount_paid) == ("subscription_update", shown["proration_amount"])


async def test_no_proration_bills_the_new_price_from_the_next_period(
    api: httpx.AsyncClient, emulator: EmulatorServer, plans: dict[str, str]
) -> None:
    member = await subscribed(api, plans["Basic"])
    emulator.advance_clock(days=3)

    shown = await preview(api, member, plans["Pro"], proration="none")
    switched = await change(api, member, plans["Pro"], proration="none", preview_token=shown["preview_token"])

    assert switched.status_code == 200
    assert (shown["proration_amount"], shown["proration_date"], shown["invoice_amount_due"]) == (
        0,
        None,
        3000,
    )


async def test_metered_swap_keeps_the_usage_on_the_item(
    api: httpx.AsyncClient, emulator: EmulatorServer, stripe_sdk: Any, catalog: dict[str, Any], app: Any
) -> None:
    """Legacy usage records stay on the item when its price changes: Stripe bills all of the period's usage
    at the new price (the reporter's side of this is tests/api/reporting/test_plan_change_reporting.py)."""
    member = await subscribed(api, catalog["prices"]["payg"])
    item_id = (await api.get("/v1/subscription", headers=member.headers)).json()["items"][0]["id"]
    records = f"/v1/subscription_items/{item_id}/usage_records"
    stripe_sdk.raw_request("post", records, quantity=2500)

    switched = await change(api, member, catalog["prices"]["package"])
    stripe_sdk.raw_request("post", records, quantity=1000)

    assert switched.status_code == 200
    assert [(i["id"], i["price"], i["usage_type"]) for i in switched.json()["items"]] == [
        (item_id, catalog["prices"]["package"], "metered")
    ]
    upcoming = (await api.get("/v1/invoices/upcoming", headers=member.headers)).json()["stripe"]
    assert [(line["quantity"], line["amount"]) for line in upcoming["lines"]] == [("3500", 4000)]
    async with services_of(app).database.read() as session:
        history = list(
            await session.scalars(
                select(SubscriptionItemPrice)
                .join(SubscriptionItem, SubscriptionItem.id == SubscriptionItemPrice.subscription_item_id)
                .where(SubscriptionItem.stripe_item_id == item_id)
                .order_by(SubscriptionItemPrice.created_at)
            )
        )
    assert [(h.price_id, h.since is None, h.until is None) for h in history] == [
        (catalog["prices"]["payg"], True, False),
        (catalog["prices"]["package"], False, True),
    ]
    assert history[0].until == history[1].since


async def test_cancel_at_period_end_then_resume(
    api: httpx.AsyncClient, emulator: EmulatorServer, stripe_sdk: Any, plans: dict[str, str]
) -> None:
    member = await subscribed(api, plans["Basic"])
    subscription_id = (await api.get("/v1/subscription", headers=member.headers)).json()["id"]
    _, end = stripe_period(stripe_sdk, subscription_id)

    canceled = await api.post("/v1/subscription/cancel", headers=member.headers)
    again = await api.post("/v1/subscription/cancel", headers=member.headers)

    assert canceled.status_code == again.status_code == 200
    body = canceled.json()
    assert (body["status"], body["cancel_at_period_end"], stamp(body["cancel_at"])) == ("active", True, end)
    assert stripe_sdk.v1.subscriptions.retrieve(subscription_id).cancel_at_period_end is True
    assert emulator.request_count("POST", f"/v1/subscriptions/{subscription_id}") == 1  # the repeat: no call

    resumed = await api.post("/v1/subscription/resume", headers=member.headers)

    assert resumed.status_code == 200
    assert (resumed.json()["cancel_at_period_end"], resumed.json()["cancel_at"]) == (False, None)
    assert stripe_sdk.v1.subscriptions.retrieve(subscription_id).cancel_at_period_end is False

    await api.post("/v1/subscription/cancel", headers=member.headers)
    emulator.advance_clock(seconds=end - emulator.now() + 1)
    stripe_sdk.v1.subscriptions.retrieve(subscription_id)  # Stripe ends it at the period end
    await deliver_webhooks(api, emulator, type="customer.subscription.deleted")
    ended = (await api.get("/v1/subscription", headers=member.headers)).json()
    assert ended["status"] == "canceled"
    assert error_of(await api.post("/v1/subscription/resume", headers=member.headers)) == (
        404,
        "no_subscription",
    )


async def test_a_switch_made_in_the_billing_portal_arrives_through_the_webhook(
    api: httpx.AsyncClient, emulator: EmulatorServer, stripe_sdk: Any, plans: dict[str, str], app: Any
) -> None:
    member = await subscribed(api, plans["Basic"])
    portal = await api.post(
        "/v1/billing-portal", json={"flow": "subscription_update"}, headers=member.headers
    )
    assert portal.status_code == 200, portal.text
    url = portal.json()["url"]
    origin = url.split("/p/")[0]
    emulator.clear_webhook_deliveries()
    async with httpx.AsyncClient() as browser:
        page = (await browser.get(url)).text
        assert "Update your plan" in page
        confirm = re.search(rf"id='price-{plans['Pro']}' href='([^']+)'", page).group(1)
        moment = re.search(r"name='proration_date' value='(\d+)'", (await browser.get(origin + confirm)).text)
        done = await browser.post(origin + confirm, data={"proration_date": moment.group(1)})
    assert done.status_code == 303 and done.headers["location"] == "http://portal.test/dashboard"

    acks = await deliver_webhooks(api, emulator, type="customer.subscription.updated")
    assert [a.status_code for a in acks] == [200]
    await asyncio.sleep(0)  # the inline apply ran after the acknowledgement (BackgroundTasks)

    shown = (await api.get("/v1/subscription", headers=member.headers)).json()
    assert shown["plan"]["price_id"] == plans["Pro"]
    (delivery,) = emulator.webhook_deliveries(type="customer.subscription.updated")
    created = json.loads(delivery["payload"])["created"]
    async with services_of(app).database.read() as session:
        swap = await session.scalar(
            select(SubscriptionItemPrice).where(SubscriptionItemPrice.price_id == plans["Pro"])
        )
    assert swap is not None and int(swap.since.timestamp()) == created  # the change's time, from the event


async def test_the_changes_own_webhook_changes_nothing_more(
    api: httpx.AsyncClient, emulator: EmulatorServer, plans: dict[str, str], app: Any
) -> None:
    member = await subscribed(api, plans["Basic"])
    switched = (await change(api, member, plans["Pro"])).json()

    await deliver_webhooks(api, emulator, type="customer.subscription.updated")

    assert (await api.get("/v1/subscription", headers=member.headers)).json() == switched
    async with services_of(app).database.read() as session:
        assert len(list(await session.scalars(select(SubscriptionItemPrice)))) == 2


async def test_a_double_submitted_switch_is_one_change_in_stripe(
    api: httpx.AsyncClient, emulator: EmulatorServer, stripe_sdk: Any, plans: dict[str, str]
) -> None:
    member = await subscribed(api, plans["Basic"])
    shown = await preview(api, member, plans["Pro"])

    first, second = await asyncio.gather(
        change(api, member, plans["Pro"], preview_token=shown["preview_token"]),
        change(api, member, plans["Pro"], preview_token=shown["preview_token"]),
    )

    statuses = sorted([first.status_code, second.status_code])
    assert statuses in ([200, 200], [200, 409])  # the later one either replays or finds the switch made
    customer = stripe_sdk.v1.subscriptions.retrieve(shown["subscription_id"]).customer
    prorations = stripe_sdk.v1.invoice_items.list({"customer": customer}).data
    assert len(prorations) == 2  # one credit, one charge: Stripe made the switch once
    back = await change(api, member, plans["Basic"])
    forth = await change(api, member, plans["Pro"])
    assert back.status_code == forth.status_code == 200  # switching back and forth makes new changes
    assert len(stripe_sdk.v1.invoice_items.list({"customer": customer}).data) == 6


async def test_plan_change_refusals(
    api: httpx.AsyncClient,
    emulator: EmulatorServer,
    stripe_sdk: Any,
    plans: dict[str, str],
    catalog: dict[str, Any],
) -> None:
    assert error_of(await change(api, Member("x", "x", "not-a-token"), plans["Pro"]))[0] == 401
    nobody = await sign_up(api, "nobody@example.com")
    assert error_of(await change(api, nobody, plans["Pro"])) == (404, "no_subscription")
    assert error_of(await api.post("/v1/subscription/cancel", headers=nobody.headers)) == (
        404,
        "no_subscription",
    )

    member = await subscribed(api, plans["Basic"], "member@example.com")
    inactive = stripe_sdk.v1.prices.create(
        {"product": plans["product"], "currency": "usd", "unit_amount": 7, "recurring": {"interval": "month"}}
    )
    stripe_sdk.v1.prices.update(inactive.id, {"active": False})
    cases = [
        ({"price_id": plans["Basic"]}, (409, "already_on_plan")),
        ({"price_id": "price_unknown"}, (404, "price_not_found")),
        ({"price_id": "../customers"}, (404, "price_not_found")),
        ({"price_id": plans["one_time"]}, (422, "price_not_recurring")),
        ({"price_id": inactive.id}, (422, "price_inactive")),
        ({"price_id": plans["euro"]}, (422, "currency_mismatch")),
        ({"price_id": plans["Pro"], "proration": "sometimes"}, (422, "validation_error")),
        ({"price_id": ""}, (422, "validation_error")),
        ({"price_id": plans["Pro"], "preview_token": "forged"}, (422, "invalid_preview_token")),
    ]
    for body, expected in cases:
        assert error_of(await change(api, member, **body)) == expected, body
    other_plan = await preview(api, member, catalog["prices"]["payg"])
    assert error_of(await change(api, member, plans["Pro"], preview_token=other_plan["preview_token"])) == (
        409,
        "preview_outdated",
    )
    assert emulator.request_count("POST", f"/v1/subscriptions/{other_plan['subscription_id']}") == 0

    emulator.set_subscription_status(other_plan["subscription_id"], "past_due")
    await deliver_webhooks(api, emulator, type="customer.subscription.updated")
    refused = await change(api, member, plans["Pro"])
    assert error_of(refused) == (409, "subscription_not_changeable")
    assert "pay the open invoice" in refused.json()["error"]["message"]


async def test_checkout_for_a_subscribed_user_says_how_to_switch(
    api: httpx.AsyncClient, plans: dict[str, str]
) -> None:
    member = await subscribed(api, plans["Basic"])

    response = await api.post(
        "/v1/checkout/sessions", json={"price_id": plans["Pro"]}, headers=member.headers
    )

    assert error_of(response) == (409, "already_subscribed")
    assert "(POST /v1/billing-portal)" not in response.json()["error"]["message"]
