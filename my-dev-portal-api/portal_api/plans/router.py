"""HTTP route for the public plan list (GET /v1/plans)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api.deps import ServicesDep
from portal_api.plans.schemas import PlanList

router = APIRouter(tags=["plans"])


@router.get("/plans")
async def list_plans(services: ServicesDep) -> PlanList:
    return PlanList(data=await services.plan_catalog.plans())
