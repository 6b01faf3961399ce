"""Scheduling of the hourly usage report: the job function and how it is added to an APScheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.base import BaseScheduler
from fastapi import FastAPI

from portal_api.reporting.reporter import RunResult, UsageReporter
from portal_api.reporting.settings import reporting_settings

log = structlog.get_logger(__name__)

REPORT_JOB_ID = "usage_report_hourly"
# After a restart, catch up soon rather than at the next full hour.
STARTUP_DELAY = timedelta(seconds=20)


async def report_usage(reporter: UsageReporter) -> RunResult | None:
    """The hourly job: report every closed hour's usage; never raises (the next run picks up what is left)."""
    try:
        return await reporter.run(kind="hourly")
    except Exception:
        log.exception("usage_report_job_failed")
        return None


def add_reporting_job(scheduler: BaseScheduler, app: FastAPI, *, run_soon: bool = False) -> bool:
    """Add the hourly report to `scheduler` (once; a no-op when REPORTING_ENABLED is false)."""
    reporting = reporting_settings(app.state)
    if not reporting.reporting_enabled or scheduler.get_job(REPORT_JOB_ID) is not None:
        return False
    extra = {"next_run_time": datetime.now(UTC) + STARTUP_DELAY} if run_soon else {}
    scheduler.add_job(
        report_usage,
        "cron",
        minute=reporting.reporting_cron_minute,
        args=[app.state.usage_reporter],
        id=REPORT_JOB_ID,
        max_instances=1,  # an hour's run is never overlapped by the next one
        coalesce=True,
        misfire_grace_time=50 * 60,
        **extra,
    )
    return True
