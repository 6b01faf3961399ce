"""HTTP routes: GET /metrics (Prometheus exposition) and GET /v1/admin/health (admin user or admin token)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from portal_api.config import Settings
from portal_api.deps import AdminCallerDep, Session, bearer_token
from portal_api.errors import Unauthorized
from portal_api.observability.health import DatabaseGauges, admin_health
from portal_api.observability.metrics import PortalMetrics
from portal_api.observability.schemas import AdminHealth

metrics_router = APIRouter(tags=["observability"])
admin_health_router = APIRouter(prefix="/admin", tags=["observability"])


@metrics_router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    expected = settings.metrics_token.get_secret_value()
    if expected:
        given = bearer_token(request) or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized(
                "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>", code="invalid_metrics_token"
            )
    gauges: DatabaseGauges = request.app.state.database_gauges
    await gauges.refresh(request.app.state)
    metrics: PortalMetrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


@admin_health_router.get("/health")
async def get_admin_health(request: Request, _: AdminCallerDep, session: Session) -> AdminHealth:
    """Database, Stripe reachability, webhook inbox, usage reporting and ingest at a glance."""
    return await admin_health(request.app.state, session)
