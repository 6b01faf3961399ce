"""`portal-api worker`: the background jobs outside the API process, until SIGTERM or SIGINT.

Runs the scheduler built by jobs.py (webhook inbox retries) plus the hourly usage report, on the app's
state (database, Stripe gateways) without serving HTTP. Set RUN_JOBS_IN_PROCESS=false on the API when a
worker runs, so the jobs run in one place.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from portal_api.config import Settings, get_settings
from portal_api.jobs import build_scheduler
from portal_api.main import create_app
from portal_api.migrate import upgrade_database

log = structlog.get_logger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
JOB_CANCEL_TIMEOUT = 10.0


async def run_worker(
    settings: Settings | None = None,
    *,
    stop: asyncio.Event | None = None,
    on_started: Callable[[AsyncIOScheduler], None] | None = None,
) -> None:
    """Start the scheduled jobs and run until `stop` is set or the process gets SIGTERM/SIGINT."""
    settings = settings or get_settings()
    app = create_app(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            pass
    scheduler: AsyncIOScheduler | None = None
    try:
        if settings.run_migrations_on_start:
            await upgrade_database(app.state.engine)
        scheduler = build_scheduler(app, report_soon=True)
        scheduler.start()
        log.info("worker_started", jobs=[job.id for job in scheduler.get_jobs()])
        if on_started is not None:
            on_started(scheduler)
        await stop.wait()
        log.info("worker_stopping")
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        running = _running_jobs()
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)  # cancels job runs in progress
        if running:
            # A report run marks itself interrupted when cancelled; the next run resumes its rows.
            await asyncio.wait(running, timeout=JOB_CANCEL_TIMEOUT)
        await app.state.stripe.aclose()
        gateways = getattr(app.state, "stripe_gateways", None)
        if gateways is not None:
            await gateways.aclose()
        await app.state.engine.dispose()


def _running_jobs() -> list[asyncio.Task[object]]:
    """APScheduler runs coroutine jobs as tasks of `run_coroutine_job`."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and getattr(task.get_coro(), "__qualname__", "") == "run_coroutine_job"
    ]
