"""Admin routes: the reconciliation run reports, and running one now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from portal_api.admin.deps import AdminCallerDep
from portal_api.deps import ReadSession, ServicesDep
from portal_api.reconciliation import service
from portal_api.reconciliation.schemas import ReconciliationRunList, ReconciliationRunOut

router = APIRouter(tags=["admin"])


@router.get("/admin/reconciliation-runs")
async def list_reconciliation_runs(
    _: AdminCallerDep, session: ReadSession, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> ReconciliationRunList:
    runs = await service.list_runs(session, limit=limit)
    return ReconciliationRunList(data=[ReconciliationRunOut.from_model(run) for run in runs])


@router.post("/admin/reconciliation-runs", status_code=201)
async def run_reconciliation_now(_: AdminCallerDep, services: ServicesDep) -> ReconciliationRunOut:
    run = await service.run_reconciliation(services.database, await services.stripe.gateway())
    return ReconciliationRunOut.from_model(run)
