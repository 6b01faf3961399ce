"""Wiring of observability into an app: the outermost middleware, /metrics, admin health."""

from __future__ import annotations

from fastapi import FastAPI

from portal_api.core.container import Services
from portal_api.observability.middleware import ObservabilityMiddleware
from portal_api.observability.router import admin_health_router, metrics_router


def install_observability(app: FastAPI, services: Services) -> None:
    """Call after install_protection(): the middleware added last runs first, and this one must wrap all."""
    app.add_middleware(
        ObservabilityMiddleware,
        metrics=services.metrics,
        client_addresses=services.client_addresses,
        access_log=services.settings.access_log,
    )
    if services.settings.metrics_enabled:
        app.include_router(metrics_router)
    app.include_router(admin_health_router, prefix="/v1")
