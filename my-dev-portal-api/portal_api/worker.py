"""`portal-api worker`: the background jobs outside the API process, until asked to stop.

Runs the JobRunner's jobs (webhook inbox retries, the hourly usage report, reconciliation) on a service
container of its own, without serving HTTP. Set RUN_JOBS_IN_PROCESS=false on the API when a worker runs,
so the jobs run in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from portal_api.config import Settings, get_settings
from portal_api.core.container import Services
from portal_api.logging_setup import configure_logging
from portal_api.services import build_services, start_services

log = structlog.get_logger(__name__)


async def run_worker(
    settings: Settings | None = None,
    *,
    stop: asyncio.Event | None = None,
    on_started: Callable[[Services], None] | None = None,
) -> None:
    """Start the scheduled jobs and run until `stop` is set; then stop them (asking first) and close."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    stop = stop or asyncio.Event()
    services = build_services(settings)
    try:
        await start_services(services, run_jobs=True)
        log.info("worker_started", jobs=services.jobs.job_ids)
        if on_started is not None:
            on_started(services)
        await stop.wait()
        log.info("worker_stopping")
    finally:
        await services.aclose()
