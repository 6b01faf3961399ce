"""Every scheduled job, registered with the service container's JobRunner: webhook inbox retries, the hourly
usage report, the daily reconciliation. The API's lifespan (RUN_JOBS_IN_PROCESS) or `portal-api worker`
starts them; tests call `services.jobs.run_now(job_id)` or the job functions directly.
"""

from __future__ import annotations

import asyncio

from portal_api.core.container import Services
from portal_api.reconciliation.jobs import add_reconciliation_job
from portal_api.reporting.jobs import add_reporting_job
from portal_api.webhooks.service import WebhookInbox

WEBHOOK_RETRY_JOB_ID = "webhook_inbox_retry"


async def retry_webhook_events(inbox: WebhookInbox, stop: asyncio.Event) -> int:
    """Apply the inbox's unprocessed events that are due (failed earlier or never tried)."""
    if stop.is_set():
        return 0
    return await inbox.retry_due()


def register_jobs(services: Services) -> None:
    if WEBHOOK_RETRY_JOB_ID in services.jobs.job_ids:
        return
    inbox = services.webhook_inbox
    services.jobs.add(
        WEBHOOK_RETRY_JOB_ID,
        lambda stop: retry_webhook_events(inbox, stop),
        "interval",
        seconds=services.settings.webhook_retry_interval_seconds,
    )
    add_reporting_job(services.jobs, services.usage_reporter)
    add_reconciliation_job(services.jobs, services.database, services.stripe)
