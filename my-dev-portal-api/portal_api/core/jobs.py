"""`JobRunner`: scheduled background jobs that stop when asked instead of being cancelled mid-query.

APScheduler decides *when* a job is due; the job itself runs as a task of ours, handed a `stop` event. On
shutdown the runner sets the event, and each job finishes what it is doing (the reporter records the
outcomes of calls in flight and claims no more rows) and returns; the runner awaits them. Only a job still
running when the time is up is cancelled, and that is logged. Cancelling a task in the middle of a database
query can leave SQLAlchemy's aiosqlite connection waiting forever on a stopped worker thread.

A job that is still running when it is due again is skipped (APScheduler's max_instances=1, kept here
because APScheduler no longer sees our tasks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = structlog.get_logger(__name__)

Job = Callable[[asyncio.Event], Awaitable[object]]


class JobRunner:
    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self._jobs: dict[str, Job] = {}
        self._triggers: dict[str, tuple[str, dict[str, Any]]] = {}
        self._running: dict[str, asyncio.Task[object]] = {}
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def job_ids(self) -> list[str]:
        return list(self._jobs)

    def trigger_of(self, job_id: str) -> tuple[str, dict[str, Any]]:
        """The APScheduler trigger name and arguments `job_id` was registered with."""
        return self._triggers[job_id]

    @property
    def started(self) -> bool:
        return self._scheduler is not None

    def add(self, job_id: str, job: Job, trigger: str, **trigger_args: Any) -> None:
        """Register `job` as `job_id` with an APScheduler trigger ("interval", "cron") and its arguments."""
        if job_id in self._jobs:
            raise ValueError(f"job {job_id!r} is registered already")
        self._jobs[job_id] = job
        self._triggers[job_id] = (trigger, trigger_args)

    def start(self) -> None:
        """Start triggering the registered jobs (inside the running event loop)."""
        if self._scheduler is not None or self.stopping.is_set():
            return
        scheduler = AsyncIOScheduler(timezone=UTC)
        for job_id, (trigger, args) in self._triggers.items():
            scheduler.add_job(
                self._fire, trigger, args=[job_id], id=job_id, coalesce=True, max_instances=1, **args
            )
        scheduler.start()
        self._scheduler = scheduler

    async def _fire(self, job_id: str) -> None:
        self.run_now(job_id)

    def run_now(self, job_id: str) -> asyncio.Task[object] | None:
        """Start `job_id` now unless it is running or the runner is stopping; returns its task."""
        if self.stopping.is_set():
            return None
        running = self._running.get(job_id)
        if running is not None and not running.done():
            log.info("job_skipped_still_running", job=job_id)
            return None
        task = asyncio.get_running_loop().create_task(self._run(job_id), name=f"job:{job_id}")
        self._running[job_id] = task
        return task

    async def _run(self, job_id: str) -> object:
        try:
            return await self._jobs[job_id](self.stopping)
        except Exception:
            log.exception("job_failed", job=job_id)
            return None

    def running(self) -> list[asyncio.Task[object]]:
        return [task for task in self._running.values() if not task.done()]

    async def stop(self, *, timeout: float) -> None:  # noqa: ASYNC109 (a deadline for waiting on jobs)
        """Ask every job to stop, wait up to `timeout` seconds, then cancel what is left (logged)."""
        self.stopping.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(
                wait=False
            )  # our tasks are not APScheduler's: nothing of ours is cancelled
        pending = self.running()
        if not pending:
            return
        _, still = await asyncio.wait(pending, timeout=timeout)
        for task in still:
            log.warning("job_cancelled_at_shutdown", job=task.get_name(), timeout_seconds=timeout)
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=1.0)
