"""StripeGateway calls other features build on, through the real SDK against the emulator, per API version."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from portal_api.config import Settings
from portal_api.errors import NotFound
from portal_api.stripe_client import GatewayOptions, StripeGateway
from stripe_emulator.testing import EmulatorServer
from tests.fixtures.emulator import BASIL, LEGACY


@pytest.fixture
async def gateway_for(emulator: EmulatorServer) -> AsyncIterator[Callable[[str], StripeGateway]]:
    made: list[StripeGateway] = []

    def make(version: str) -> StripeGateway:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            stripe_api_base=emulator.url,
            stripe_api_key="sk_test_gateway",
            stripe_api_version=version,
            stripe_max_retries=0,
        )
        made.append(StripeGateway(GatewayOptions.from_settings(settings)))
        return made[-1]

    yield make
    for gateway in made:
        await gateway.aclose()


async def subscribed(
    gateway: StripeGateway, emulator: EmulatorServer, price_id: str, *, metered: bool
) -> dict[str, Any]:
    customer = await gateway.create_customer(user_id="usr_gw", email="gw@example.com")
    checkout = await gateway.create_checkout_session(
        user_id="usr_gw",
        customer_id=customer["id"],
        price_id=price_id,
        metered=metered,
        success_url="http://portal.test/return?checkout_session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://portal.test/pricing",
    )
    emulator.pay_checkout_session(checkout["id"])
    session = await gateway.retrieve_checkout_session(checkout["id"])
    return await gateway.retrieve_subscription(session["subscription"]["id"])


@pytest.mark.parametrize("version", [LEGACY, BASIL])
async def test_subscription_periods_are_on_the_subscription_in_every_version(
    gateway_for: Callable[[str], StripeGateway], emulator: EmulatorServer, version: str
) -> None:
    catalog = emulator.seed()
    gateway = gateway_for(version)

    subscription = await subscribed(gateway, emulator, catalog["prices"]["free"], metered=False)

    assert subscription["status"] == "active"
    assert isinstance(subscription["current_period_start"], int)
    assert subscription["current_period_end"] > subscription["current_period_start"]
    item = subscription["items"]["data"][0]
    assert item["price"]["product"]["name"] == "My API"  # items.data.price.product expanded


async def test_legacy_usage_record_and_upcoming_invoice_through_raw(
    gateway_for: Callable[[str], StripeGateway], emulator: EmulatorServer
) -> None:
    catalog = emulator.seed()
    gateway = gateway_for(LEGACY)
    subscription = await subscribed(gateway, emulator, catalog["prices"]["package"], metered=True)
    item_id = subscription["items"]["data"][0]["id"]
    path = f"/v1/subscription_items/{item_id}/usage_records"

    first = await gateway.raw("post", path, {"quantity": 2500, "action": "increment"}, "usage:test:h1")
    replay = await gateway.raw("post", path, {"quantity": 2500, "action": "increment"}, "usage:test:h1")
    invoice = await gateway.upcoming_invoice(subscription["customer"], subscription["id"])

    assert first["id"] == replay["id"] and first["quantity"] == 2500
    assert invoice["object"] == "invoice" and invoice["currency"] == "usd"
    assert invoice["amount_due"] == 3000  # 2,500 calls round up to 3 packages of $10


async def test_basil_upcoming_invoice_uses_create_preview(
    gateway_for: Callable[[str], StripeGateway], emulator: EmulatorServer
) -> None:
    catalog = emulator.seed()
    gateway = gateway_for(BASIL)
    subscription = await subscribed(gateway, emulator, catalog["prices"]["free"], metered=False)

    invoice = await gateway.upcoming_invoice(subscription["customer"], subscription["id"])

    assert invoice["object"] == "invoice" and invoice["amount_due"] == 0
    assert emulator.request_count("POST", "/v1/invoices/create_preview") == 1
    assert emulator.request_count("GET", "/v1/invoices/upcoming") == 0


async def test_deleted_customer_reads_as_deleted_and_unknown_as_not_found(
    gateway_for: Callable[[str], StripeGateway], emulator: EmulatorServer
) -> None:
    gateway = gateway_for(LEGACY)
    customer = await gateway.create_customer(user_id="usr_del", email="del@example.com")
    emulator.client(version=LEGACY).v1.customers.delete(customer["id"])

    deleted = await gateway.retrieve_customer(customer["id"])

    assert deleted["deleted"] is True
    with pytest.raises(NotFound):
        await gateway.retrieve_customer("cus_unknown")
