"""The admin health summary (database, Stripe, webhook inbox, reporting, ingest) and scrape-time gauges.

The database sections are read first, each inside a savepoint of one read session (so one failing leaves
the others intact; on PostgreSQL a failed statement aborts the transaction), and the session is closed
before Stripe is asked. Stripe's reachability is one cheap read (`GET /v1/prices?limit=1`, which the
portal's key may always do) with the configuration in force, reused for HEALTH_STRIPE_CACHE_SECONDS so the
page cannot be used to hammer Stripe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

import structlog
from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing_provider.connection import StripeConnection
from portal_api.config import Settings
from portal_api.core.metrics import PortalMetrics
from portal_api.db import Database, utcnow
from portal_api.errors import PortalError
from portal_api.metering.models import UsageEvent
from portal_api.observability.schemas import (
    AdminHealth,
    DatabaseHealth,
    IngestHealth,
    ReportingHealth,
    StripeHealth,
    WebhookInboxHealth,
)
from portal_api.reporting.models import ReportRun
from portal_api.webhooks.models import WebhookEvent

log = structlog.get_logger(__name__)

T = TypeVar("T")
STRIPE_PROBE_TIMEOUT_SECONDS = 5.0


async def _read(session: AsyncSession, what: str, query: Callable[[AsyncSession], Awaitable[T]]) -> T | None:
    try:
        async with session.begin_nested():
            return await query(session)
    except Exception as exc:
        log.warning("health_section_failed", section=what, error=f"{type(exc).__name__}: {exc}"[:300])
        return None


async def check_database(session: AsyncSession) -> DatabaseHealth:
    started = time.perf_counter()
    try:
        async with session.begin_nested():
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return DatabaseHealth(status="error", latency_ms=None, error=type(exc).__name__)
    return DatabaseHealth(status="ok", latency_ms=round((time.perf_counter() - started) * 1000, 3))


async def webhook_counts(session: AsyncSession, max_attempts: int) -> tuple[int, int]:
    """(pending, failed): unprocessed events that will be retried, and those out of attempts."""
    exhausted = WebhookEvent.attempts >= max_attempts
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(case((exhausted, 0), else_=1)), 0),
                func.coalesce(func.sum(case((exhausted, 1), else_=0)), 0),
            ).where(WebhookEvent.processed_at.is_(None))
        )
    ).one()
    return int(row[0]), int(row[1])


async def webhook_inbox(session: AsyncSession, max_attempts: int) -> WebhookInboxHealth:
    pending, failed = await webhook_counts(session, max_attempts)
    last = await session.scalar(select(func.max(WebhookEvent.received_at)))
    return WebhookInboxHealth(pending=pending, failed=failed, last_received_at=last)


async def latest_report_run(session: AsyncSession) -> ReportingHealth:
    model = ReportRun
    run = await session.scalar(
        select(model)
        .where(model.finished_at.is_not(None), model.kind != "meter_test")
        .order_by(model.finished_at.desc())
        .limit(1)
    )
    if run is None:
        return ReportingHealth(available=True, last_run_at=None, last_run_status=None, lag_seconds=None)
    return ReportingHealth(
        available=True, last_run_at=run.finished_at, last_run_status=run.status, lag_seconds=run.lag_seconds
    )


async def events_last_hour(session: AsyncSession, now: datetime) -> IngestHealth:
    count = await session.scalar(
        select(func.count()).select_from(UsageEvent).where(UsageEvent.occurred_at >= now - timedelta(hours=1))
    )
    return IngestHealth(events_last_hour=int(count or 0))


class StripeProbe:
    def __init__(self, ttl_seconds: float) -> None:
        self.ttl_seconds = ttl_seconds
        self._last: tuple[float, StripeHealth] | None = None

    async def check(self, stripe: StripeConnection) -> StripeHealth:
        if self._last is not None and time.monotonic() - self._last[0] < self.ttl_seconds:
            return self._last[1].model_copy(update={"cached": True})
        started = time.perf_counter()
        reachable, error = True, None
        try:
            gateway = await stripe.gateway()
            async with asyncio.timeout(STRIPE_PROBE_TIMEOUT_SECONDS):
                await gateway.raw("get", "/v1/prices", {"limit": 1})
        except PortalError as exc:  # Stripe answered with an error (auth failed, ...) or did not (502)
            reachable, error = exc.status < 500 or exc.code == "stripe_auth_failed", exc.code
        except TimeoutError:
            reachable, error = False, "timeout"
        except Exception as exc:
            reachable, error = False, type(exc).__name__
        latency = round((time.perf_counter() - started) * 1000, 3) if reachable else None
        result = StripeHealth(
            status="ok" if error is None else "error",
            reachable=reachable,
            latency_ms=latency,
            checked_at=utcnow(),
            cached=False,
            error=error,
        )
        self._last = (time.monotonic(), result)
        return result


async def admin_health(
    database: Database, settings: Settings, probe: StripeProbe, stripe_connection: StripeConnection
) -> AdminHealth:
    now = utcnow()
    async with database.read() as session:
        db_health = await check_database(session)
        inbox = await _read(
            session, "webhook_inbox", lambda s: webhook_inbox(s, settings.webhook_max_attempts)
        )
        reporting = await _read(session, "reporting", latest_report_run)
        ingest = await _read(session, "ingest", lambda s: events_last_hour(s, now))
    stripe = await probe.check(stripe_connection)
    return AdminHealth(
        status="ok" if db_health.status == "ok" and stripe.status == "ok" else "degraded",
        checked_at=now,
        database=db_health,
        stripe=stripe,
        webhook_inbox=inbox or WebhookInboxHealth(pending=0, failed=0, last_received_at=None),
        reporting=reporting
        or ReportingHealth(available=False, last_run_at=None, last_run_status=None, lag_seconds=None),
        ingest=ingest or IngestHealth(events_last_hour=0),
    )


class DatabaseGauges:
    """Sets the metrics read from the database (inbox depth, report lag) when scraped, at most every
    METRICS_DB_REFRESH_SECONDS."""

    def __init__(self, metrics: PortalMetrics, refresh_seconds: float) -> None:
        self.metrics = metrics
        self.refresh_seconds = refresh_seconds
        self._refreshed_at: float | None = None

    async def refresh(self, database: Database, settings: Settings) -> None:
        now = time.monotonic()
        if self._refreshed_at is not None and now - self._refreshed_at < self.refresh_seconds:
            return
        self._refreshed_at = now
        async with database.read() as session:
            counts = await _read(
                session, "webhook_inbox", lambda s: webhook_counts(s, settings.webhook_max_attempts)
            )
            reporting = await _read(session, "reporting", latest_report_run)
        if counts is not None:
            self.metrics.webhook_inbox.labels("pending").set(counts[0])
            self.metrics.webhook_inbox.labels("failed").set(counts[1])
        if reporting is not None and reporting.lag_seconds is not None:
            self.metrics.report_lag.set(reporting.lag_seconds)
        if reporting is not None and reporting.last_run_at is not None:
            self.metrics.report_last_run.set(reporting.last_run_at.timestamp())
