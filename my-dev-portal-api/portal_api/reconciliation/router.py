"""Admin routes: the reconciliation run reports, and running one now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from portal_api.deps import AdminCallerDep, Session
from portal_api.reconciliation import service
from portal_api.reconciliation.schemas import ReconciliationRunList, ReconciliationRunOut

router = APIRouter(tags=["admin"])


@router.get("/admin/reconciliation-runs")
async def list_reconciliation_runs(
    _: AdminCallerDep, session: Session, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> ReconciliationRunList:
    runs = await service.list_runs(session, limit=limit)
    return ReconciliationRunList(data=[ReconciliationRunOut.from_model(run) for run in runs])


@router.post("/admin/reconciliation-runs", status_code=201)
async def run_reconciliation_now(
    _: AdminCallerDep, session: Session, request: Request
) -> ReconciliationRunOut:
    # The run works in transactions of its own (one per customer); end the request's transaction (the
    # admin check) first, or SQLite would keep it holding the write lock they need.
    await session.commit()
    run = await service.run_reconciliation(request.app.state.session_factory, request.app.state.stripe)
    return ReconciliationRunOut.from_model(run)
