"""create_app(): the web app on one service container (uvicorn portal_api.main:create_app --factory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from portal_api.accounts.router import router as accounts_router
from portal_api.admin.router import router as admin_router
from portal_api.billing.router import router as billing_router
from portal_api.checkout.router import router as checkout_router
from portal_api.config import Settings, get_settings
from portal_api.console.billing_provider import router as billing_provider_router
from portal_api.core.container import Services
from portal_api.errors import install_error_handlers
from portal_api.health import router as health_router
from portal_api.keys.router import router as keys_router
from portal_api.logging_setup import configure_logging
from portal_api.metering.router import collector_router
from portal_api.metering.router import v1_router as metering_v1_router
from portal_api.observability.install import install_observability
from portal_api.plans.router import router as plans_router
from portal_api.protection.install import install_protection
from portal_api.reconciliation.router import router as reconciliation_router
from portal_api.reporting.router import router as reporting_router
from portal_api.services import build_services, start_services
from portal_api.webhooks.router import router as webhooks_router


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


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """The API. Its lifespan starts `services` (built here unless given) and closes them at shutdown."""
    settings = services.settings if services is not None else settings or get_settings()
    settings.check_production_ready()
    configure_logging(settings.log_level, json=settings.log_json)
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            await start_services(services, run_jobs=settings.run_jobs_in_process)
            yield
        finally:
            await services.aclose()

    app = FastAPI(title="My Dev Portal API", version="0.1.0", lifespan=lifespan)
    # The one attribute on app.state, set here once; handlers read it through deps.ServicesDep.
    app.state.services = services
    install_error_handlers(app)
    install_protection(app, services)
    install_observability(app, services)  # after install_protection: its middleware must wrap theirs
    app.include_router(health_router)
    app.include_router(api_v1_router())
    app.include_router(collector_router)
    return app


def services_of(app: FastAPI) -> Services:
    """The container an app runs on (tests, benches)."""
    services: Services = app.state.services
    return services
