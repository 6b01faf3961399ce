"""Shared pieces of the billing tests: settings pointing the app at the emulator, checkout, paying.

Test modules and conftests import the fixtures from here (`settings`, `stripe_sdk`) so the app under test
talks to the session's stripe-emulator through the real SDK, and the helpers drive the flow the way a
browser and Stripe would: POST the hosted checkout form, replay the emulator's signed webhook deliveries
over ASGI. Members and `sign_up` are in tests/fixtures/members.py, `verify_key` in tests/fixtures/keys.py,
the demo `catalog` in tests/fixtures/emulator.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from portal_api.config import Settings
from portal_api.main import services_of
from stripe_emulator.testing import EmulatorServer
from tests.fixtures.emulator import EMULATOR_WEBHOOK_SECRET, LEGACY, emulator_settings
from tests.fixtures.members import ADMIN_TOKEN, Member


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], emulator: EmulatorServer) -> Settings:
    return emulator_settings(
        settings_factory,
        emulator,
        stripe_api_key="sk_test_portal_under_test",
        stripe_webhook_secret=EMULATOR_WEBHOOK_SECRET,
        admin_bootstrap_token=ADMIN_TOKEN,
    )


@pytest.fixture
def stripe_sdk(emulator: EmulatorServer) -> Any:
    """A plain SDK client on the emulator: what happens in Stripe outside the portal (dashboard, portal)."""
    return emulator.client(version=LEGACY)


async def start_checkout(
    api: httpx.AsyncClient, member: Member, price_id: str, **headers: str
) -> dict[str, Any]:
    response = await api.post(
        "/v1/checkout/sessions", json={"price_id": price_id}, headers={**member.headers, **headers}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def pay_on_hosted_page(checkout_url: str, email: str = "", name: str = "Card Holder") -> str:
    """Submit the emulator's hosted checkout form; returns the checkout_session_id of the success redirect."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(checkout_url)
        assert page.status_code == 200 and "Pay" in page.text, page.text
        response = await browser.post(
            checkout_url, data={"email": email, "name": name, "card": "4242424242424242"}
        )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("http://portal.test/return?")
    return parse_qs(urlsplit(location).query)["checkout_session_id"][0]


async def complete(api: httpx.AsyncClient, member: Member, checkout_session_id: str) -> httpx.Response:
    return await api.post(f"/v1/checkout/sessions/{checkout_session_id}/complete", headers=member.headers)


async def subscribe(api: httpx.AsyncClient, member: Member, price_id: str) -> str:
    """Checkout and pay (no `complete` call yet); returns the checkout session id."""
    checkout = await start_checkout(api, member, price_id)
    return await pay_on_hosted_page(checkout["url"])


async def deliver_webhooks(
    api: httpx.AsyncClient, emulator: EmulatorServer, **filters: str
) -> list[httpx.Response]:
    """Replay the emulator's recorded signed deliveries (matching `filters`) into POST /v1/webhooks/stripe."""
    responses = []
    for delivery in emulator.webhook_deliveries(**filters):
        responses.append(
            await api.post(
                "/v1/webhooks/stripe",
                content=delivery["payload"],
                headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": delivery["headers"]["Stripe-Signature"],
                },
            )
        )
    return responses


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def rows(app: Any, model: Any, **where: Any) -> list[Any]:
    """Rows of `model` matching `where`, read in a short session of their own (SQLite: no lock held)."""
    async with services_of(app).database.write_factory() as session:
        return list(await session.scalars(select(model).filter_by(**where)))
