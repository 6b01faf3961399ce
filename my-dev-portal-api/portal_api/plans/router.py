"""HTTP route for the public plan list (GET /v1/plans)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from portal_api.plans.schemas import PlanList
from portal_api.plans.service import PlanCatalog

router = APIRouter(tags=["plans"])


def get_plan_catalog(request: Request) -> PlanCatalog:
    catalog: PlanCatalog = request.app.state.plan_catalog
    return catalog


@router.get("/plans")
async def list_plans(catalog: Annotated[PlanCatalog, Depends(get_plan_catalog)]) -> PlanList:
    return PlanList(data=await catalog.plans())
