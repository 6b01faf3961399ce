"""`build_services(settings)`: the one place that builds the service container every process runs on.

The API (main.create_app), `portal-api worker` and every CLI command call it and close what it returns
with `Services.aclose()`. Building does no I/O; `start_services` migrates (when asked), seeds the stored
Stripe configuration from STRIPE_* and the bootstrap admin, and starts the background jobs when wanted.
"""

from __future__ import annotations

import os

from portal_api.admin.tokens import AdminTokenCache
from portal_api.billing_provider.connection import StripeConnection
from portal_api.bootstrap import bootstrap_admin
from portal_api.config import Settings
from portal_api.core import metrics
from portal_api.core.change_relay import asyncpg_dsn, build_relay
from portal_api.core.changes import SESSION_INFO_KEY, ChangeFeed
from portal_api.core.container import Services
from portal_api.core.jobs import JobRunner
from portal_api.core.transactions import set_guard_mode
from portal_api.db import Database, create_engine
from portal_api.jobs import register_jobs
from portal_api.keys import cache as key_cache
from portal_api.keys.verify import KeyVerifier
from portal_api.metering.meters.service import active_meter_price_ids
from portal_api.metering.usage.prices import PriceCache
from portal_api.migrate import upgrade_database
from portal_api.observability.health import DatabaseGauges, StripeProbe
from portal_api.plans.service import PlanCatalog
from portal_api.protection.client_ip import ClientAddresses
from portal_api.protection.rate_limit import RateLimits
from portal_api.reporting.reporter import UsageReporter
from portal_api.security import Passwords, SessionTokens
from portal_api.webhooks.service import WebhookInbox


def check_process_model(settings: Settings) -> None:
    """SQLite serves one process: refuse to start as one of several (WEB_CONCURRENCY, API_WORKERS)."""
    if not settings.database_url.startswith("sqlite"):
        return
    for name in ("WEB_CONCURRENCY", "API_WORKERS"):
        value = os.environ.get(name, "1").strip() or "1"
        if value.isdigit() and int(value) > 1:
            raise RuntimeError(
                f"{name}={value}, but SQLite serves a single process (its write lock is the whole "
                "database's): run one worker, or use PostgreSQL (DATABASE_URL=postgresql+asyncpg://...)"
            )


def build_services(settings: Settings) -> Services:
    set_guard_mode(settings.db_transaction_guard)
    check_process_model(settings)
    changes = ChangeFeed()
    database = Database(
        create_engine(settings.database_url, echo=settings.database_echo),
        session_info={SESSION_INFO_KEY: changes},
    )
    stripe = StripeConnection(settings, database, changes)
    key_verifier = KeyVerifier(settings, database)
    key_cache.listen(changes, key_verifier.cache)
    admin_tokens = AdminTokenCache(ttl_seconds=settings.key_verify_cache_seconds)
    changes.subscribe("admin_tokens", admin_tokens.clear)
    portal_metrics = metrics.PortalMetrics()
    metrics.set_process_default(portal_metrics)
    clients = ClientAddresses(settings.forwarding_proxies)
    postgres_dsn = (
        asyncpg_dsn(settings.database_url) if settings.database_url.startswith("postgresql") else None
    )
    return Services(
        settings=settings,
        database=database,
        changes=changes,
        passwords=Passwords(settings),
        session_tokens=SessionTokens(settings),
        stripe=stripe,
        key_verifier=key_verifier,
        admin_tokens=admin_tokens,
        plan_catalog=PlanCatalog(
            stripe,
            ttl_seconds=settings.plans_cache_seconds,
            metered_prices=lambda: active_meter_price_ids(database),
        ),
        webhook_inbox=WebhookInbox(database, stripe, settings),
        usage_reporter=UsageReporter(database, settings, stripe),
        usage_prices=PriceCache(),
        metrics=portal_metrics,
        database_gauges=DatabaseGauges(portal_metrics, settings.metrics_db_refresh_seconds),
        stripe_probe=StripeProbe(settings.health_stripe_cache_seconds),
        client_addresses=clients,
        rate_limits=RateLimits(settings, clients) if settings.rate_limit_enabled else None,
        jobs=JobRunner(leader_dsn=postgres_dsn),
        relay=build_relay(changes, database_url=settings.database_url, redis_url=settings.redis_url),
    )


async def start_services(services: Services, *, run_jobs: bool) -> None:
    """Migrate (RUN_MIGRATIONS_ON_START), seed the Stripe configuration and the bootstrap admin, and start
    the scheduled jobs when `run_jobs`."""
    if services.settings.run_migrations_on_start:
        await upgrade_database(services.database.write_engine())
    if services.relay is not None:
        services.relay.start()
    await services.stripe.seed()
    await bootstrap_admin(services)
    if run_jobs:
        register_jobs(services)
        services.jobs.start()
