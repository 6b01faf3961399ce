"""Background jobs in one APScheduler AsyncIOScheduler: webhook inbox retries and the hourly usage report.

Started from the app lifespan when RUN_JOBS_IN_PROCESS is true; tests leave it off and call the job
functions directly. More jobs (usage reporting, reconciliation) register in `build_scheduler`.
"""

from __future__ import annotations

from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI

from portal_api.config import Settings
from portal_api.reconciliation.jobs import add_reconciliation_job
from portal_api.reporting.jobs import add_reporting_job
from portal_api.webhooks.service import WebhookInbox


async def retry_webhook_events(inbox: WebhookInbox) -> int:
    """Apply the inbox's unprocessed events that are due (failed earlier or never tried)."""
    return await inbox.retry_due()


def build_scheduler(app: FastAPI, *, report_soon: bool = False) -> AsyncIOScheduler:
    """Every scheduled job, in one scheduler (the API's lifespan or `portal-api worker` runs it)."""
    settings: Settings = app.state.settings
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        retry_webhook_events,
        "interval",
        seconds=settings.webhook_retry_interval_seconds,
        args=[app.state.webhook_inbox],
        id="webhook_inbox_retry",
        max_instances=1,  # a slow run is not overlapped by the next one
        coalesce=True,
    )
    add_reporting_job(scheduler, app, run_soon=report_soon)
    add_reconciliation_job(scheduler, app)
    return scheduler


def start_jobs(app: FastAPI) -> AsyncIOScheduler | None:
    """Start the scheduler inside the running event loop (call from the lifespan), if jobs run in-process."""
    settings: Settings = app.state.settings
    if not settings.run_jobs_in_process:
        return None
    scheduler = build_scheduler(app)
    scheduler.start()
    return scheduler


def stop_jobs(scheduler: AsyncIOScheduler | None) -> None:
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)
