"""HTTP routes: Meter Test, the customer's upcoming invoice, and the admin console's customers and runs.

The hourly report is scheduled by portal_api/jobs.py; the router's lifespan closes the Stripe clients of the
gateway pool on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request

from portal_api.billing_provider.gateways import StripeGateways
from portal_api.config import Settings
from portal_api.deps import AdminCallerDep, CurrentUser, Session, SettingsDep
from portal_api.metering.settings import metering_settings
from portal_api.reporting import console, invoices
from portal_api.reporting.meter_test import run_meter_test
from portal_api.reporting.reporter import UsageReporter
from portal_api.reporting.schemas import (
    CustomerDetail,
    CustomerList,
    MeterTestIn,
    MeterTestOut,
    ReportRunList,
    UpcomingInvoiceOut,
)
from portal_api.reporting.settings import reporting_settings


def build_reporting_state(app: FastAPI) -> None:
    """app.state.stripe_gateways and app.state.usage_reporter (called from create_app)."""
    settings: Settings = app.state.settings
    app.state.stripe_gateways = StripeGateways(settings)
    app.state.usage_reporter = UsageReporter(
        app.state.session_factory, settings, reporting_settings(app.state), app.state.stripe_gateways
    )


@asynccontextmanager
async def reporting_lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        gateways = getattr(app.state, "stripe_gateways", None)
        if gateways is not None:
            await gateways.aclose()


router = APIRouter(tags=["reporting"], lifespan=reporting_lifespan)


def get_gateways(request: Request) -> StripeGateways:
    gateways: StripeGateways = request.app.state.stripe_gateways
    return gateways


def get_reporter(request: Request) -> UsageReporter:
    reporter: UsageReporter = request.app.state.usage_reporter
    return reporter


GatewaysDep = Annotated[StripeGateways, Depends(get_gateways)]
ReporterDep = Annotated[UsageReporter, Depends(get_reporter)]


@router.post("/admin/meters/{meter_id}/test")
async def test_meter(
    meter_id: str,
    request: Request,
    _: AdminCallerDep,
    session: Session,
    settings: SettingsDep,
    gateways: GatewaysDep,
    reporter: ReporterDep,
    body: Annotated[MeterTestIn | None, Body()] = None,
) -> MeterTestOut:
    # The test works in units of work of its own (ingest, the reporter); end the request's transaction
    # (the admin check) first, or SQLite would keep it holding the write lock they need.
    await session.commit()
    return await run_meter_test(
        request.app.state.session_factory,
        settings,
        metering_settings(request.app.state),
        reporter,
        gateways,
        meter_id,
        body or MeterTestIn(),
    )


@router.get("/invoices/upcoming")
async def get_upcoming_invoice(
    user: CurrentUser, session: Session, settings: SettingsDep, gateways: GatewaysDep
) -> UpcomingInvoiceOut:
    return await invoices.upcoming_invoice(session, settings, gateways, user)


@router.get("/admin/customers")
async def list_customers(
    _: AdminCallerDep,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    # Bounded: the database takes a 64-bit OFFSET at most (a larger one was a 500).
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> CustomerList:
    return await console.list_customers(session, limit=limit, offset=offset)


@router.get("/admin/customers/{user_id}")
async def get_customer(user_id: str, _: AdminCallerDep, session: Session) -> CustomerDetail:
    return await console.customer_detail(session, user_id)


@router.get("/admin/report-runs")
async def list_report_runs(
    _: AdminCallerDep,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> ReportRunList:
    return await console.list_runs(session, limit=limit, status=status)
