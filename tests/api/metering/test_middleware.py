"""The provider-side ASGI middleware against the real portal API: key checks (401/402), caching, batching."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing.models import Subscription
from portal_api.core.container import Services
from portal_api.db import new_id
from portal_api.metering.middleware import UsageMeteringMiddleware
from portal_api.metering.models import UsageEvent
from tests.api.metering.conftest import create_meter, meter_usage, usage
from tests.fixtures.billing import mirror_subscription
from tests.fixtures.keys import new_key_secret
from tests.fixtures.members import ADMIN_TOKEN, Member, bearer


class CountingTransport(httpx.AsyncBaseTransport):
    """Routes the middleware's calls to the portal app in-process; counts them and can fail some."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.calls: list[str] = []
        self.fail_next: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.path)
        if self.fail_next:
            self.fail_next -= 1
            return httpx.Response(503, json={"error": {"code": "unavailable", "message": "down"}})
        return await self.inner.handle_async_request(request)


def provider(transport: CountingTransport) -> UsageMeteringMiddleware:
    """A provider's FastAPI app wrapped as app.add_middleware(UsageMeteringMiddleware, ...) would."""
    api = FastAPI()

    @api.get("/v1/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @api.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    middleware = UsageMeteringMiddleware(
        api,
        api_url="http://portal",
        admin_token=ADMIN_TOKEN,
        http_client=httpx.AsyncClient(transport=transport),
        batch_size=1000,
        flush_interval=60,
    )
    return middleware


async def subscribe(db_session: AsyncSession, member: Member, status: str) -> None:
    db_session.add(
        Subscription(
            user_id=member.id,
            stripe_customer_id=f"cus_{member.id[-6:]}",
            stripe_subscription_id=new_id("sub_test"),
            status=status,
        )
    )
    await db_session.commit()


@pytest.fixture
def transport(app: Any) -> CountingTransport:
    return CountingTransport(app)


async def test_middleware_answers_401_and_402_and_lets_good_keys_through(
    api: httpx.AsyncClient, alice: Member, bob: Member, transport: CountingTransport, db_session: AsyncSession
) -> None:
    await subscribe(db_session, alice, "active")
    await subscribe(db_session, bob, "canceled")
    alice_key, bob_key = await new_key_secret(api, alice), await new_key_secret(api, bob)
    app = provider(transport)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://provider"
    ) as client:
        missing = await client.get("/v1/items/1")
        unknown = await client.get("/v1/items/1", headers={"X-Api-Key": "mdp_test_" + "x" * 43})
        unpaid = await client.get("/v1/items/1", headers={"X-Api-Key": bob_key})
        good = await client.get("/v1/items/1", headers=bearer(alice_key))
        health = await client.get("/healthz")

    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "invalid_api_key"
    assert unpaid.status_code == 402 and unpaid.json()["error"]["code"] == "payment_required"
    assert good.status_code == 200 and good.json() == {"id": "1"}
    assert health.status_code == 200


async def test_verdicts_are_cached_and_calls_sent_in_batches_with_route_templates(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    transport: CountingTransport,
    db_session: AsyncSession,
    catalog: dict[str, Any],
    services: Services,
) -> None:
    meter = await create_meter(
        api, admin, catalog["prices"]["payg"], filters={"field": "route", "value": "/v1/items/{id}"}
    )
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    key = await new_key_secret(api, alice)
    app = middleware = provider(transport)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://provider"
    ) as client:
        for n in range(6):
            assert (await client.get(f"/v1/items/{n}", headers={"X-Api-Key": key})).status_code == 200
    sent = await middleware.flush()

    assert transport.calls.count("/v1/keys/verify") == 1
    assert sent == 6 and transport.calls.count("/v1/usage/events") == 1
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 6
    routes = set((await db_session.execute(select(UsageEvent.route))).scalars())
    assert routes == {"/v1/items/{item_id}"}  # the provider's route template, not the raw paths


async def test_failed_batch_is_retried_and_counted_once(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    transport: CountingTransport,
    db_session: AsyncSession,
    catalog: dict[str, Any],
    services: Services,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    key = await new_key_secret(api, alice)
    app = middleware = provider(transport)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://provider"
    ) as client:
        for n in range(3):
            await client.get(f"/v1/items/{n}", headers={"X-Api-Key": key})

    transport.fail_next = 1
    with pytest.raises(httpx.HTTPStatusError):
        await middleware.flush()
    assert await middleware.flush() == 3
    await middleware.aclose()

    assert transport.calls.count("/v1/usage/events") == 2
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 3


async def test_portal_unreachable_fails_closed_by_default(
    alice: Member, transport: CountingTransport
) -> None:
    transport.fail_next = 1
    app = provider(transport)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://provider"
    ) as client:
        response = await client.get("/v1/items/1", headers={"X-Api-Key": "mdp_test_" + "y" * 43})

    assert response.status_code == 503 and response.json()["error"]["code"] == "verification_unavailable"
