"""HTTP routes: Meter Test, the customer's upcoming invoice, and the admin console's customers and runs
(listing them, and report now)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from portal_api.accounts.deps import CurrentUser
from portal_api.admin.deps import AdminCallerDep
from portal_api.deps import ReadSession, ServicesDep
from portal_api.reporting import console, invoices
from portal_api.reporting.meter_test import run_meter_test, test_event_for
from portal_api.reporting.report_now import report_now
from portal_api.reporting.schemas import (
    CustomerDetail,
    CustomerList,
    MeterTestEventOut,
    MeterTestIn,
    MeterTestOut,
    ReportNowIn,
    ReportRunList,
    ReportRunOut,
    UpcomingInvoiceOut,
)

router = APIRouter(tags=["reporting"])


@router.post("/admin/meters/{meter_id}/test")
async def test_meter(
    meter_id: str,
    _: AdminCallerDep,
    services: ServicesDep,
    body: Annotated[MeterTestIn | None, Body()] = None,
) -> MeterTestOut:
    # The test runs its own units of work (ingest, the reporter) between its Stripe calls.
    return await run_meter_test(
        services.database,
        services.settings,
        services.usage_reporter,
        services.stripe,
        services.key_verifier,
        meter_id,
        body or MeterTestIn(),
    )


@router.get("/admin/meters/{meter_id}/test-event")
async def get_meter_test_event(meter_id: str, _: AdminCallerDep, services: ServicesDep) -> MeterTestEventOut:
    """The synthetic event the Meter Test would send: one the meter's filters accept (or why none can)."""
    return await test_event_for(services.database, meter_id)


@router.get("/invoices/upcoming")
async def get_upcoming_invoice(user: CurrentUser, services: ServicesDep) -> UpcomingInvoiceOut:
    return await invoices.upcoming_invoice(services.database, services.stripe, user)


@router.get("/admin/customers")
async def list_customers(
    _: AdminCallerDep,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    # Bounded: the database takes a 64-bit OFFSET at most (a larger one was a 500).
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> CustomerList:
    return await console.list_customers(session, limit=limit, offset=offset)


@router.get("/admin/customers/{user_id}")
async def get_customer(user_id: str, _: AdminCallerDep, session: ReadSession) -> CustomerDetail:
    return await console.customer_detail(session, user_id)


@router.get("/admin/report-runs")
async def list_report_runs(
    _: AdminCallerDep,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> ReportRunList:
    return await console.list_runs(session, limit=limit, status=status)


@router.post("/admin/report-runs", status_code=201)
async def create_report_run(
    _: AdminCallerDep,
    services: ServicesDep,
    body: Annotated[ReportNowIn | None, Body()] = None,
) -> ReportRunOut:
    """Report now: one reporter run (closed hours), answered when it ends; 409 while one is in progress."""
    # No Session: the reporter runs its own units of work between its Stripe calls.
    return await report_now(services.database, services.usage_reporter, body or ReportNowIn())
