"""GET /v1/admin/health: who may read it, and what each section reports."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.metering.models import UsageEvent
from portal_api.webhooks.models import WebhookEvent
from stripe_emulator.testing import EmulatorServer
from tests.fixtures.database import running_app
from tests.fixtures.members import ADMIN, ADMIN_EMAIL, ADMIN_TOKEN, sign_up


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], emulator: EmulatorServer) -> Settings:
    return settings_factory(
        admin_bootstrap_token=ADMIN_TOKEN,
        admin_emails=ADMIN_EMAIL,
        stripe_api_base=emulator.url,
        stripe_api_key="sk_test_health",
        stripe_max_retries=0,
    )


def usage_row(occurred_at: datetime, dedupe_key: str) -> UsageEvent:
    return UsageEvent(
        dedupe_key=dedupe_key,
        source="api",
        occurred_at=occurred_at,
        received_at=occurred_at,
        method="GET",
        route="/v1/items/1",
        weight=1,
        payload="{}",
    )


async def test_health_is_for_admins_only(api: httpx.AsyncClient) -> None:
    customer = await sign_up(api, "dev@example.com")
    admin = await sign_up(api, ADMIN_EMAIL)

    anonymous = await api.get("/v1/admin/health")
    as_customer = await api.get("/v1/admin/health", headers=customer.headers)
    as_admin_user = await api.get("/v1/admin/health", headers=admin.headers)
    as_admin_token = await api.get("/v1/admin/health", headers=ADMIN)

    assert anonymous.status_code == 401
    assert as_customer.status_code == 403 and as_customer.json()["error"]["code"] == "admin_only"
    assert as_admin_user.status_code == 200 and as_admin_token.status_code == 200


async def test_health_summarizes_database_stripe_inbox_reporting_and_ingest(
    api: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    now = datetime.now(UTC)
    received = now - timedelta(minutes=3)
    db_session.add_all(
        [
            WebhookEvent(
                id="evt_pending", type="invoice.paid", payload="{}", attempts=1, received_at=received
            ),
            WebhookEvent(
                id="evt_failed",
                type="invoice.paid",
                payload="{}",
                attempts=settings.webhook_max_attempts,
                received_at=now - timedelta(hours=1),
            ),
            WebhookEvent(
                id="evt_done", type="invoice.paid", payload="{}", processed_at=now, received_at=received
            ),
            usage_row(now - timedelta(minutes=5), "recent-1"),
            usage_row(now - timedelta(minutes=50), "recent-2"),
            usage_row(now - timedelta(hours=3), "old"),
        ]
    )
    reporting = importlib.util.find_spec("portal_api.reporting.models") is not None
    if reporting:
        from portal_api.reporting.models import ReportRun

        db_session.add(
            ReportRun(kind="hourly", status="succeeded", started_at=now, finished_at=now, lag_seconds=420)
        )
    await db_session.commit()

    response = await api.get("/v1/admin/health", headers=ADMIN)

    assert response.status_code == 200, response.text
    health = response.json()
    assert health["status"] == "ok"
    assert health["database"]["status"] == "ok" and health["database"]["latency_ms"] >= 0
    assert health["stripe"]["status"] == "ok" and health["stripe"]["reachable"] is True
    assert health["stripe"]["cached"] is False
    inbox = health["webhook_inbox"]
    assert (inbox["pending"], inbox["failed"]) == (1, 1)
    assert datetime.fromisoformat(inbox["last_received_at"]) == received.replace(
        microsecond=received.microsecond
    )
    assert health["ingest"] == {"events_last_hour": 2}
    if reporting:
        assert health["reporting"]["available"] is True
        assert (health["reporting"]["last_run_status"], health["reporting"]["lag_seconds"]) == (
            "succeeded",
            420,
        )

    again = (await api.get("/v1/admin/health", headers=ADMIN)).json()
    assert again["stripe"]["cached"] is True  # Stripe is asked at most once per HEALTH_STRIPE_CACHE_SECONDS


async def test_unreachable_stripe_makes_the_portal_degraded(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(
        admin_bootstrap_token=ADMIN_TOKEN,
        stripe_api_base="http://127.0.0.1:9",  # discard port: connection refused
        stripe_max_retries=0,
        stripe_timeout_seconds=2,
    )
    async with (
        running_app(settings) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        response = await client.get("/v1/admin/health", headers=ADMIN)

    health: dict[str, Any] = response.json()
    assert response.status_code == 200
    assert health["status"] == "degraded"
    assert health["stripe"]["reachable"] is False and health["stripe"]["error"] == "upstream_error"
