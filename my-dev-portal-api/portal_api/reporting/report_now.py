"""Report now: one run of the usage reporter on demand (the console's button, POST /v1/admin/report-runs).

Like the hourly job: every closed hour of the lookback window, or the closed hours of [from, to), for every
customer or one meter. It waits for the run to end and returns it. A second request while a run over every
customer is in progress in this process gets 409 (report_run_in_progress); runs of other processes are kept
apart by the ledger's claims, so nothing is sent twice either way. No transaction is open while Stripe
answers: the reporter runs its own short units of work.
"""

from __future__ import annotations

from datetime import datetime

from portal_api.db import Database, utcnow
from portal_api.errors import Unprocessable
from portal_api.metering.meters.service import get_meter
from portal_api.reporting.backfill import closed_hours
from portal_api.reporting.models import ReportRun
from portal_api.reporting.reporter import UsageReporter
from portal_api.reporting.schemas import ReportNowIn, ReportRunOut


def report_range(
    reporter: UsageReporter, start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """(since, until) for the reporter: None, None for its lookback window; 422 for a range without a
    closed hour or an end without a start."""
    if start is None:
        if end is not None:
            raise Unprocessable("`to` needs a `from`", code="invalid_range", path="from")
        return None, None
    try:
        return closed_hours(reporter, start, end or now, now)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="nothing_to_report", path="from") from None


async def report_now(database: Database, reporter: UsageReporter, body: ReportNowIn) -> ReportRunOut:
    if body.meter_id is not None:
        async with database.read() as session:
            await get_meter(session, body.meter_id)  # 404 meter_not_found
    now = utcnow()
    since, until = report_range(reporter, body.start, body.end, now)
    result = await reporter.run(
        kind="manual", now=now, since=since, until=until, meter_id=body.meter_id, refuse_if_busy=True
    )
    async with database.read() as session:
        row = await session.get(ReportRun, result.run_id)
    assert row is not None  # written by the run
    return ReportRunOut.from_model(row)
