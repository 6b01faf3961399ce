"""HTTP routes: GET /metrics (Prometheus exposition) and GET /v1/admin/health (admin user or admin token)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from portal_api.admin.deps import AdminCallerDep
from portal_api.deps import ServicesDep, bearer_token
from portal_api.errors import Unauthorized
from portal_api.observability.health import admin_health
from portal_api.observability.schemas import AdminHealth

metrics_router = APIRouter(tags=["observability"])
admin_health_router = APIRouter(prefix="/admin", tags=["observability"])


@metrics_router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request, services: ServicesDep) -> Response:
    expected = services.settings.metrics_token.get_secret_value()
    if expected:
        given = bearer_token(request) or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized(
                "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>", code="invalid_metrics_token"
            )
    await services.database_gauges.refresh(services.database, services.settings)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@admin_health_router.get("/health")
async def get_admin_health(_: AdminCallerDep, services: ServicesDep) -> AdminHealth:
    """Database, Stripe reachability, webhook inbox, usage reporting and ingest at a glance."""
    return await admin_health(services.database, services.settings, services.stripe_probe, services.stripe)
