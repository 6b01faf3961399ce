"""`JobRunner`: scheduled background jobs that stop when asked instead of being cancelled mid-query.

APScheduler decides *when* a job is due; the job itself runs as a task of ours, handed a `stop` event. On
shutdown the runner sets the event, and each job finishes what it is doing (the reporter records the
outcomes of calls in flight and claims no more rows) and returns; the runner awaits them. Only a job still
running when the time is up is cancelled, and that is logged. Cancelling a task in the middle of a database
query can leave SQLAlchemy's aiosqlite connection waiting forever on a stopped worker thread.

A job that is still running when it is due again is skipped (APScheduler's max_instances=1, kept here
because APScheduler no longer sees our tasks). Across processes, only the leader runs jobs (core/leader.py:
a PostgreSQL advisory lock; SQLite's single process always leads); jobs registered with `catch_up` run as
soon as a process becomes leader (after a restart or a takeover), then on their schedule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from portal_api.core.leader import Leadership

log = structlog.get_logger(__name__)

Job = Callable[[asyncio.Event], Awaitable[object]]
# A catch-up job's first run after this process becomes leader (a restart, a takeover).
CATCH_UP_DELAY = timedelta(seconds=20)
DEPOSED_WAIT_SECONDS = 10.0


class JobRunner:
    def __init__(self, *, leader_dsn: str | None = None, leader_poll_seconds: float = 2.0) -> None:
        self.stopping = asyncio.Event()  # shutdown: set once, for good
        self._term = asyncio.Event()  # set when this process stops leading (or shuts down)
        self._jobs: dict[str, Job] = {}
        self._triggers: dict[str, tuple[str, dict[str, Any]]] = {}
        self._catch_up: set[str] = set()
        self._running: dict[str, asyncio.Task[object]] = {}
        self._scheduler: AsyncIOScheduler | None = None
        self._leader_dsn = leader_dsn
        self._leader_poll_seconds = leader_poll_seconds
        self._leadership: Leadership | None = None

    @property
    def job_ids(self) -> list[str]:
        return list(self._jobs)

    def trigger_of(self, job_id: str) -> tuple[str, dict[str, Any]]:
        """The APScheduler trigger name and arguments `job_id` was registered with."""
        return self._triggers[job_id]

    @property
    def started(self) -> bool:
        """start() was called: this process competes to lead (and runs the jobs while it does)."""
        return self._leadership is not None

    @property
    def leading(self) -> bool:
        return self._scheduler is not None

    def add(
        self, job_id: str, job: Job, trigger: str, *, catch_up: bool = False, **trigger_args: Any
    ) -> None:
        """Register `job` as `job_id` with an APScheduler trigger ("interval", "cron") and its arguments;
        `catch_up` also runs it CATCH_UP_DELAY after this process becomes leader."""
        if job_id in self._jobs:
            raise ValueError(f"job {job_id!r} is registered already")
        self._jobs[job_id] = job
        self._triggers[job_id] = (trigger, trigger_args)
        if catch_up:
            self._catch_up.add(job_id)

    def start(self) -> None:
        """Compete to lead (inside the running event loop); the leader triggers the registered jobs."""
        if self._leadership is not None or self.stopping.is_set():
            return
        self._leadership = Leadership(
            self._leader_dsn, self._elected, self._deposed, poll_seconds=self._leader_poll_seconds
        )
        self._leadership.start()

    async def _elected(self) -> None:
        if self.stopping.is_set():
            return
        self._term = asyncio.Event()
        scheduler = AsyncIOScheduler(timezone=UTC)
        soon = datetime.now(UTC) + CATCH_UP_DELAY
        for job_id, (trigger, args) in self._triggers.items():
            first = {"next_run_time": soon} if job_id in self._catch_up else {}
            scheduler.add_job(
                self._fire, trigger, args=[job_id], id=job_id, coalesce=True, max_instances=1, **args, **first
            )
        scheduler.start()
        self._scheduler = scheduler

    async def _deposed(self) -> None:
        """Stop the scheduler and ask the running jobs to finish (another process leads now)."""
        self._term.set()
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        pending = self.running()
        if pending and not self.stopping.is_set():  # at shutdown, stop() waits with its own bound
            await asyncio.wait(pending, timeout=DEPOSED_WAIT_SECONDS)

    async def _fire(self, job_id: str) -> None:
        self.run_now(job_id)

    def run_now(self, job_id: str) -> asyncio.Task[object] | None:
        """Start `job_id` now unless it is running or the runner is stopping; returns its task."""
        if self.stopping.is_set() or self._term.is_set():
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
            return await self._jobs[job_id](self._term)
        except Exception:
            log.exception("job_failed", job=job_id)
            return None

    def running(self) -> list[asyncio.Task[object]]:
        return [task for task in self._running.values() if not task.done()]

    async def stop(self, *, timeout: float) -> None:  # noqa: ASYNC109 (a deadline for waiting on jobs)
        """Ask every job to stop, wait up to `timeout` seconds, then cancel what is left (logged)."""
        self.stopping.set()
        self._term.set()
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)  # our tasks are not APScheduler's: nothing of ours is cancelled
        if self._leadership is not None:
            await self._leadership.aclose()  # closing its connection releases the lock at once
        pending = self.running()
        if not pending:
            return
        _, still = await asyncio.wait(pending, timeout=timeout)
        for task in still:
            log.warning("job_cancelled_at_shutdown", job=task.get_name(), timeout_seconds=timeout)
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=1.0)
