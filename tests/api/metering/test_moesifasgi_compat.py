"""An unmodified moesifasgi middleware, pointed at our collector, meters a provider's API through us.

moesifapi sends with `requests` from background threads, so our API runs in a real uvicorn server on a free
127.0.0.1 port; the provider's tiny Starlette app is called in-process. The SDK gzips every batch.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from moesifapi.models import EventModel, EventRequestModel, EventResponseModel
from moesifasgi import MoesifMiddleware
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from portal_api.config import Settings
from portal_api.core.container import Services
from portal_api.main import create_app
from portal_api.metering.models import UsageEvent
from tests.api.metering.conftest import create_meter, meter_usage, usage
from tests.fixtures.billing import mirror_subscription
from tests.fixtures.keys import new_key_secret
from tests.fixtures.members import Member


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def portal_api_server(settings: Settings) -> Iterator[str]:
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="portal-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def provider_app(collector_url: str, application_id: str) -> MoesifMiddleware:
    async def item(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["item_id"]})

    inner = Starlette(routes=[Route("/v1/items/{item_id}", item)])
    return MoesifMiddleware(
        inner,
        settings={
            "APPLICATION_ID": application_id,
            "BASE_URI": collector_url,
            "BATCH_SIZE": 4,
            "EVENT_BATCH_TIMEOUT": 1,
            "LOG_BODY": True,
        },
    )


async def wait_for_events(db_session: Any, count: int, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        stored = int(await db_session.scalar(select(func.count()).select_from(UsageEvent)) or 0)
        await db_session.rollback()
        if stored >= count or time.monotonic() > deadline:
            return stored
        await asyncio.sleep(0.2)


async def test_unmodified_moesifasgi_middleware_meters_calls_through_our_collector(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    bob: Member,
    collector_token: str,
    catalog: dict[str, Any],
    settings: Settings,
    db_session: Any,
    services: Services,
) -> None:
    meter = await create_meter(
        api, admin, catalog["prices"]["payg"], filters={"field": "route", "value": "/v1/items/{id}"}
    )
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    await mirror_subscription(services, bob, meter["stripe_price_id"])
    alice_key, bob_key = await new_key_secret(api, alice), await new_key_secret(api, bob)

    with portal_api_server(settings) as api_url:
        middleware = provider_app(f"{api_url}/collector", collector_token)
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=middleware), base_url="http://provider"
            ) as provider:
                for n in range(5):
                    assert (
                        await provider.get(f"/v1/items/{n}", headers={"X-Api-Key": alice_key})
                    ).status_code == 200
                for n in range(2):
                    assert (
                        await provider.get(f"/v1/items/{n}", headers={"X-Api-Key": bob_key})
                    ).status_code == 200
            stored = await wait_for_events(db_session, 7)

            # The SDK's own client resending events (as its retries do) is deduplicated by transaction id.
            resent = EventModel(
                request=EventRequestModel(
                    time="2020-01-01T00:00:00.000", uri=f"{api_url}/x", verb="GET", headers={}
                ),
                response=EventResponseModel(time="2020-01-01T00:00:00.000", status=200, headers={}),
            )
            resent.request.time = resent.response.time = time.strftime("%Y-%m-%dT%H:%M:%S.000", time.gmtime())
            resent.request.headers = {"x-api-key": alice_key}
            first = await asyncio.to_thread(middleware.api_client.create_events_batch, [resent])
            second = await asyncio.to_thread(middleware.api_client.create_events_batch, [resent])
            config = await asyncio.to_thread(middleware.api_client.get_app_config)
        finally:
            scheduler = middleware.event_logger.worker_pool.scheduler
            if scheduler is not None:
                scheduler.shutdown(wait=False)

    assert stored == 7
    assert first.get("X-Moesif-Config-ETag") and second.get("X-Usage-Duplicates") == "1"
    assert config.status_code == 200 and config.headers.get("X-Moesif-Config-ETag")
    assert (
        meter_usage(await usage(api, alice), meter["id"])["period_value"] == 5 + 0
    )  # /x is not an item route
    assert meter_usage(await usage(api, bob), meter["id"])["period_value"] == 2
    rows = (await db_session.execute(select(UsageEvent.route, UsageEvent.source))).all()
    assert {source for _, source in rows} == {"moesif"}
    assert sorted(route for route, _ in rows).count("/v1/items/0") == 2
