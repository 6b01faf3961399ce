"""Scheduling of the daily reconciliation: the job function and how it is added to an APScheduler."""

from __future__ import annotations

import structlog
from apscheduler.schedulers.base import BaseScheduler
from fastapi import FastAPI

from portal_api.reconciliation.models import ReconciliationRun
from portal_api.reconciliation.service import run_reconciliation

log = structlog.get_logger(__name__)

RECONCILE_JOB_ID = "stripe_reconciliation_daily"
RECONCILE_HOUR_UTC = 3  # a quiet hour, away from the usage report at the top of each hour


async def reconcile(app: FastAPI) -> ReconciliationRun | None:
    """The daily job; never raises (tomorrow's run repairs what today's could not)."""
    try:
        return await run_reconciliation(app.state.session_factory, app.state.stripe)
    except Exception:
        log.exception("reconciliation_job_failed")
        return None


def add_reconciliation_job(scheduler: BaseScheduler, app: FastAPI) -> bool:
    """Add the daily reconciliation to `scheduler` (once)."""
    if scheduler.get_job(RECONCILE_JOB_ID) is not None:
        return False
    scheduler.add_job(
        reconcile,
        "cron",
        hour=RECONCILE_HOUR_UTC,
        minute=30,
        args=[app],
        id=RECONCILE_JOB_ID,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    return True
