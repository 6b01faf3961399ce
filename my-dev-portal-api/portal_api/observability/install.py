"""Wiring of observability into an app: PortalMetrics, the outermost middleware, /metrics, admin health."""

from __future__ import annotations

from fastapi import FastAPI

from portal_api.config import Settings
from portal_api.observability import metrics
from portal_api.observability.health import DatabaseGauges, StripeProbe
from portal_api.observability.middleware import ObservabilityMiddleware
from portal_api.observability.router import admin_health_router, metrics_router
from portal_api.protection.client_ip import ClientAddresses


def install_observability(app: FastAPI, settings: Settings) -> None:
    """Call after install_protection(): the middleware added last runs first, and this one must wrap all."""
    portal_metrics = metrics.PortalMetrics()
    metrics.set_process_default(portal_metrics)
    app.state.metrics = portal_metrics
    app.state.database_gauges = DatabaseGauges(portal_metrics, settings.metrics_db_refresh_seconds)
    app.state.stripe_probe = StripeProbe(settings.health_stripe_cache_seconds)
    clients = getattr(app.state, "client_addresses", None) or ClientAddresses(settings.trusted_proxies)
    app.add_middleware(
        ObservabilityMiddleware,
        metrics=portal_metrics,
        client_addresses=clients,
        access_log=settings.access_log,
    )
    if settings.metrics_enabled:
        app.include_router(metrics_router)
    app.include_router(admin_health_router, prefix="/v1")
