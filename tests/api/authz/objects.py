"""One object per kind a path id can name, made through the real routes, and a way to re-read it.

`make(kind, ...)` returns the object's id and a `read()` that shows its state as its owner (or an admin, or
the database) sees it: a refused call must leave that state exactly as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

from portal_api.billing.models import Subscription
from portal_api.checkout.models import ProvisionedCheckout
from portal_api.keys.models import ApiKey
from portal_api.main import services_of
from tests.api.authz.conftest import Cast

Reader = Callable[[], Awaitable[Any]]


@dataclass
class Owned:
    id: str
    read: Reader


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _without(row: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in fields}


async def _key(api: httpx.AsyncClient, app: Any, cast: Cast, catalog: dict[str, Any]) -> Owned:
    created = _ok(await api.post("/v1/keys", json={"name": "mine"}, headers=cast.owner.headers), 201)

    async def read() -> Any:
        listed = _ok(await api.get("/v1/keys", headers=cast.owner.headers))["data"]
        return [_without(k, "last_used_at") for k in listed]

    return Owned(created["id"], read)


async def _paid_checkout(api: httpx.AsyncClient, cast: Cast, price_id: str) -> str:
    """The owner starts a checkout and pays on the hosted page; returns the checkout session id."""
    body = {"price_id": price_id}
    started = _ok(await api.post("/v1/checkout/sessions", json=body, headers=cast.owner.headers))
    async with httpx.AsyncClient() as browser:
        paid = await browser.post(started["url"], data={"email": "", "name": "O", "card": "4242424242424242"})
    assert paid.status_code == 303, paid.text
    return parse_qs(urlsplit(paid.headers["location"]).query)["checkout_session_id"][0]


async def _checkout_session(api: httpx.AsyncClient, app: Any, cast: Cast, catalog: dict[str, Any]) -> Owned:
    session_id = await _paid_checkout(api, cast, catalog["prices"]["package"])

    async def read() -> Any:
        async with services_of(app).database.write_factory() as session:
            counts = []
            for model in (Subscription, ProvisionedCheckout, ApiKey):
                counts.append(await session.scalar(select(func.count()).select_from(model)))
            return counts

    return Owned(session_id, read)


async def _admin_token(api: httpx.AsyncClient, app: Any, cast: Cast, catalog: dict[str, Any]) -> Owned:
    created = _ok(await api.post("/v1/admin/tokens", json={"name": "ci"}, headers=cast.admin.headers), 201)

    async def read() -> Any:
        listed = _ok(await api.get("/v1/admin/tokens", headers=cast.admin.headers))["data"]
        return [_without(t, "last_used_at") for t in listed if t["id"] == created["id"]]

    return Owned(created["id"], read)


async def _collector_token(api: httpx.AsyncClient, app: Any, cast: Cast, catalog: dict[str, Any]) -> Owned:
    created = _ok(
        await api.post("/v1/admin/collector-tokens", json={"name": "moesif"}, headers=cast.admin.headers), 201
    )

    async def read() -> Any:
        listed = _ok(await api.get("/v1/admin/collector-tokens", headers=cast.admin.headers))["data"]
        return [_without(t, "last_used_at") for t in listed if t["id"] == created["id"]]

    return Owned(created["id"], read)


async def _meter(api: httpx.AsyncClient, app: Any, cast: Cast, catalog: dict[str, Any]) -> Owned:
    body = {"name": "API calls", "stripe_price_id": catalog["prices"]["payg"]}
    created = _ok(await api.post("/v1/admin/meters", json=body, headers=cast.admin.headers), 201)

    async def read() -> Any:
        return _ok(await api.get(f"/v1/admin/meters/{created['id']}", headers=cast.admin.headers))

    return Owned(created["id"], read)


async def _customer(api: httpx.AsyncClient, app: Any, cast: Cast, catalog: dict[str, Any]) -> Owned:
    paid = await _paid_checkout(api, cast, catalog["prices"]["payg"])  # a customer has a subscription
    _ok(await api.post(f"/v1/checkout/sessions/{paid}/complete", headers=cast.owner.headers))

    async def read() -> Any:
        return _ok(await api.get(f"/v1/admin/customers/{cast.owner.id}", headers=cast.admin.headers))

    return Owned(cast.owner.id, read)


MAKERS: dict[str, Callable[[httpx.AsyncClient, Any, Cast, dict[str, Any]], Awaitable[Owned]]] = {
    "key": _key,
    "checkout_session": _checkout_session,
    "admin_token": _admin_token,
    "collector_token": _collector_token,
    "meter": _meter,
    "customer": _customer,
}


async def make(kind: str, api: httpx.AsyncClient, app: Any, cast: Cast, catalog: dict[str, Any]) -> Owned:
    return await MAKERS[kind](api, app, cast, catalog)
