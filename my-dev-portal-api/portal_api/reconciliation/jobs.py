"""The daily reconciliation as a scheduled job (registered with the JobRunner by portal_api.jobs)."""

from __future__ import annotations

import asyncio

import structlog

from portal_api.billing_provider.connection import StripeConnection
from portal_api.core.jobs import JobRunner
from portal_api.db import Database
from portal_api.reconciliation.models import ReconciliationRun
from portal_api.reconciliation.service import run_reconciliation

log = structlog.get_logger(__name__)

RECONCILE_JOB_ID = "stripe_reconciliation_daily"
RECONCILE_HOUR_UTC = 3  # a quiet hour, away from the usage report at the top of each hour


async def reconcile(
    database: Database, stripe: StripeConnection, stop: asyncio.Event
) -> ReconciliationRun | None:
    """The daily job; never raises (tomorrow's run repairs what today's could not)."""
    try:
        return await run_reconciliation(database, await stripe.gateway(), stop=stop)
    except Exception:
        log.exception("reconciliation_job_failed")
        return None


def add_reconciliation_job(jobs: JobRunner, database: Database, stripe: StripeConnection) -> None:
    jobs.add(
        RECONCILE_JOB_ID,
        lambda stop: reconcile(database, stripe, stop),
        "cron",
        hour=RECONCILE_HOUR_UTC,
        minute=30,
        misfire_grace_time=6 * 3600,
    )
