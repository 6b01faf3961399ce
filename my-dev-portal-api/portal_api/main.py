"""create_app(): settings, database, routers, error handler (uvicorn portal_api.main:create_app --factory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from portal_api.accounts.router import router as accounts_router
from portal_api.admin.router import router as admin_router
from portal_api.admin.tokens import AdminTokenCache
from portal_api.billing.router import router as billing_router
from portal_api.billing_provider.router import router as billing_provider_router
from portal_api.bootstrap import bootstrap_admin
from portal_api.checkout.router import router as checkout_router
from portal_api.config import Settings, get_settings
from portal_api.db import create_engine, create_session_factory
from portal_api.errors import install_error_handlers
from portal_api.health import router as health_router
from portal_api.jobs import start_jobs, stop_jobs
from portal_api.keys.router import router as keys_router
from portal_api.keys.verify import KeyVerifier
from portal_api.logging_setup import configure_logging
from portal_api.metering.router import collector_router
from portal_api.metering.router import v1_router as metering_v1_router
from portal_api.migrate import upgrade_database
from portal_api.observability.install import install_observability
from portal_api.plans.router import router as plans_router
from portal_api.plans.service import PlanCatalog
from portal_api.protection.install import install_protection
from portal_api.reconciliation.router import router as reconciliation_router
from portal_api.reporting.router import build_reporting_state
from portal_api.reporting.router import router as reporting_router
from portal_api.security import Passwords, SessionTokens
from portal_api.stripe_client import StripeGateway
from portal_api.webhooks.router import router as webhooks_router
from portal_api.webhooks.service import WebhookInbox


def api_v1_router() -> APIRouter:
    v1 = APIRouter(prefix="/v1")
    v1.include_router(accounts_router)
    v1.include_router(keys_router)
    v1.include_router(admin_router)
    v1.include_router(plans_router)
    v1.include_router(checkout_router)
    v1.include_router(billing_router)
    v1.include_router(webhooks_router)
    v1.include_router(metering_v1_router)
    v1.include_router(billing_provider_router)
    v1.include_router(reporting_router)
    v1.include_router(reconciliation_router)
    return v1


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_production_ready()
    configure_logging(settings.log_level, json=settings.log_json)

    engine = create_engine(settings.database_url, echo=settings.database_echo)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations_on_start:
            await upgrade_database(engine)
        await bootstrap_admin(app)
        scheduler = app.state.scheduler = start_jobs(app)
        yield
        stop_jobs(scheduler)
        await app.state.key_verifier.flush_last_used()
        await app.state.stripe.aclose()
        await engine.dispose()

    app = FastAPI(title="My Dev Portal API", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    app.state.passwords = Passwords(settings)
    app.state.session_tokens = SessionTokens(settings)
    app.state.key_verifier = KeyVerifier(settings, app.state.session_factory)
    app.state.admin_token_cache = AdminTokenCache(ttl_seconds=settings.key_verify_cache_seconds)
    app.state.stripe = StripeGateway(settings)
    app.state.plan_catalog = PlanCatalog(app.state.stripe, ttl_seconds=settings.plans_cache_seconds)
    app.state.webhook_inbox = WebhookInbox(app.state.session_factory, app.state.stripe, settings)
    build_reporting_state(app)

    install_error_handlers(app)
    install_protection(app, settings)
    install_observability(app, settings)  # after install_protection: its middleware must wrap theirs
    app.include_router(health_router)
    app.include_router(api_v1_router())
    app.include_router(collector_router)
    return app
