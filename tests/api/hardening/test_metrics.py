"""GET /metrics: request latency by route template, ingest counters, scrape-time inbox depth, hooks, token."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.core import metrics as hooks
from portal_api.errors import NotFound
from portal_api.main import services_of
from portal_api.webhooks.models import WebhookEvent
from tests.fixtures.database import running_app
from tests.fixtures.members import ADMIN


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(
    api: httpx.AsyncClient, **headers: str
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await api.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def usage_event(**fields: Any) -> dict[str, Any]:
    event = {
        "id": uuid.uuid4().hex,
        "route": "/v1/items/1",
        "method": "GET",
        "status": 200,
        "timestamp": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "user_id": "nobody@example.com",
    }
    event.update(fields)
    return event


async def test_request_latency_is_recorded_per_route_template_method_and_status(
    api: httpx.AsyncClient,
) -> None:
    await api.get("/v1/keys/key_a")  # GET on a POST/DELETE route: 405
    await api.delete("/v1/keys/key_a")
    await api.delete("/v1/keys/key_b")
    await api.get("/no/such/thing")

    found = await scrape(api)

    count = "http_request_duration_seconds_count"
    assert value(found, count, method="DELETE", route="/v1/keys/{key_id}", status="401") == 2
    assert value(found, count, method="GET", route="/v1/keys/{key_id}", status="405") == 1
    assert value(found, count, method="GET", route="unmatched", status="404") == 1
    assert not any("key_a" in str(labels) for _, labels in found)


async def test_ingest_outcomes_are_counted(app: Any, api: httpx.AsyncClient) -> None:
    first = usage_event()
    batch = [first, usage_event(), {"id": "broken"}, dict(first)]

    response = await api.post("/v1/usage/events", json={"events": batch}, headers=ADMIN)
    again = await api.post("/v1/usage/events", json={"events": [first]}, headers=ADMIN)

    assert response.status_code == 200 and again.status_code == 200, response.text
    found = await scrape(api)
    assert value(found, "usage_events_total", outcome="accepted") == 2
    assert value(found, "usage_events_total", outcome="duplicate") == 2  # in-batch repeat, then resent
    assert value(found, "usage_events_total", outcome="rejected") == 1
    assert value(found, "usage_events_unattributed_total") == 2


async def test_webhook_inbox_depth_is_read_from_the_database_at_scrape_time(
    app: Any, api: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    services_of(app).database_gauges.refresh_seconds = 0
    now = datetime.now(UTC)
    for index, (processed, attempts) in enumerate([(None, 0), (None, 3), (now, 1), (None, 99)]):
        db_session.add(
            WebhookEvent(
                id=f"evt_{index}",
                type="invoice.paid",
                payload="{}",
                processed_at=processed,
                attempts=min(attempts, settings.webhook_max_attempts),
            )
        )
    await db_session.commit()

    found = await scrape(api)

    assert value(found, "webhook_inbox_events", state="pending") == 2
    assert value(found, "webhook_inbox_events", state="failed") == 1


async def test_hooks_feed_the_app_handling_the_request_else_the_latest_app(
    app: Any, api: httpx.AsyncClient, settings_factory: Callable[..., Settings]
) -> None:
    hooks.count_stripe_error("CardError")  # outside a request: the latest app is `app`
    hooks.observe_report_lag(42.5)
    hooks.count_report_run("succeeded")

    found = await scrape(api)
    assert value(found, "stripe_errors_total", kind="CardError") == 1
    assert value(found, "usage_report_lag_seconds") == 42.5
    assert value(found, "usage_report_runs_total", status="succeeded") == 1

    async with running_app(settings_factory()) as other_app:  # its own registry: no collision, no sharing
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other_app), base_url="http://t"
        ) as other:
            other_found = await scrape(other)
        hooks.count_stripe_error("APIError")  # the latest app is now other_app
        assert value(other_found, "stripe_errors_total", kind="CardError") == 0
    assert value(await scrape(api), "stripe_errors_total", kind="APIError") == 0


async def test_metrics_token_guards_the_endpoint_when_set(settings_factory: Callable[..., Settings]) -> None:
    async with (
        running_app(settings_factory(metrics_token="scrape-me-please")) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})

    assert anonymous.status_code == 401 and wrong.status_code == 401
    assert anonymous.json()["error"]["code"] == "invalid_metrics_token"
    assert right.status_code == 200 and "http_request_duration_seconds" in right.text


async def test_metrics_can_be_turned_off(settings_factory: Callable[..., Settings]) -> None:
    async with (
        running_app(settings_factory(metrics_enabled=False)) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        assert (await client.get("/metrics")).status_code == 404


async def test_a_failed_stripe_call_is_counted_by_error_kind(
    settings_factory: Callable[..., Settings], emulator: Any
) -> None:
    async with running_app(settings_factory(stripe_api_base=emulator.url)) as app:
        with pytest.raises(NotFound):
            await (await services_of(app).stripe.gateway()).retrieve_price("price_does_not_exist")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            found = await scrape(client)
    assert value(found, "stripe_errors_total", kind="InvalidRequestError") == 1
