"""HTTP route for the public plan list (GET /v1/plans)."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api.deps import ServicesDep
from portal_api.plans.schemas import PlanList

router = APIRouter(tags=["plans"])


@router.get("/plans")
async def list_plans(services: ServicesDep) -> PlanList:
    """Active recurring prices; `metered_by_portal` tells a metered price our meters bill from one they do
    not (its usage is never billed: the console lists it under the meters' coverage)."""
    return PlanList(data=await services.plan_catalog.listing())
