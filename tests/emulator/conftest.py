"""Shared helpers for the emulator suite: SDK clients per API version and small catalog builders."""

import json
from typing import Any

import pytest

from stripe_emulator.testing import EmulatorServer
from tests.fixtures.emulator import LEGACY

LATEST = "2026-10-28.endive"


@pytest.fixture
def legacy(emulator: EmulatorServer) -> Any:
    """A StripeClient pinned to 2020-08-27 (usage records, upcoming invoice, periods on the subscription)."""
    return emulator.client(version=LEGACY)


@pytest.fixture
def modern(emulator: EmulatorServer) -> Any:
    """A StripeClient at the SDK's default version (basil+ shapes and rules)."""
    return emulator.client(version=LATEST)


def body(response: Any) -> dict[str, Any]:
    """The JSON of a ``client.raw_request`` response."""
    return json.loads(response.body)  # type: ignore[no-any-return]


def product(client: Any, name: str = "My API") -> Any:
    return client.v1.products.create({"name": name})


def recurring_price(client: Any, **params: Any) -> Any:
    params.setdefault("currency", "usd")
    params.setdefault("product", product(client).id)
    recurring = params.pop("recurring", {})
    recurring.setdefault("interval", "month")
    params["recurring"] = recurring
    return client.v1.prices.create(params)


def subscribe(client: Any, price_id: str, quantity: int | None = None, **extra: Any) -> Any:
    customer = client.v1.customers.create({"email": "dev@example.com"})
    item: dict[str, Any] = {"price": price_id}
    if quantity is not None:
        item["quantity"] = quantity
    return client.v1.subscriptions.create({"customer": customer.id, "items": [item], **extra})


def preview_total(client: Any, subscription: Any) -> int:
    invoice = client.v1.invoices.create_preview({"subscription": subscription.id})
    return int(invoice.total)
