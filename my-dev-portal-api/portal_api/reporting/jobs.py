"""The hourly usage report as a scheduled job (registered with the JobRunner by portal_api.jobs)."""

from __future__ import annotations

import asyncio

import structlog

from portal_api.core.jobs import JobRunner
from portal_api.reporting.reporter import RunResult, UsageReporter

log = structlog.get_logger(__name__)

REPORT_JOB_ID = "usage_report_hourly"


async def report_usage(reporter: UsageReporter, stop: asyncio.Event) -> RunResult | None:
    """The hourly job: report every closed hour's usage; never raises (the next run picks up what is left)."""
    try:
        return await reporter.run(kind="hourly", stop=stop)
    except Exception:
        log.exception("usage_report_job_failed")
        return None


def add_reporting_job(jobs: JobRunner, reporter: UsageReporter) -> bool:
    """Register the hourly report (a no-op when REPORTING_ENABLED is false). A process that becomes the jobs'
    leader (a restart, a takeover) catches up soon rather than at the next full hour."""
    settings = reporter.settings
    if not settings.reporting_enabled:
        return False
    jobs.add(
        REPORT_JOB_ID,
        lambda stop: report_usage(reporter, stop),
        "cron",
        catch_up=True,
        minute=settings.reporting_cron_minute,
        misfire_grace_time=50 * 60,
    )
    return True
