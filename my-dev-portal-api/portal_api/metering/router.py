"""The metering routers: `v1_router` goes under /v1, `collector_router` is mounted at the app root."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api.metering.collector.admin_router import router as collector_tokens_router
from portal_api.metering.collector.router import router as collector_router
from portal_api.metering.meters.router import router as meters_router
from portal_api.metering.usage.router import router as usage_router

v1_router = APIRouter()
v1_router.include_router(collector_tokens_router)
v1_router.include_router(meters_router)
v1_router.include_router(usage_router)

__all__ = ["collector_router", "v1_router"]
