"""The JobRunner: the registered jobs and triggers, jobs started only in-process, stop asks then waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from portal_api.config import Settings
from portal_api.core.jobs import JobRunner
from portal_api.jobs import WEBHOOK_RETRY_JOB_ID, register_jobs
from portal_api.main import services_of
from portal_api.reconciliation.jobs import RECONCILE_JOB_ID
from portal_api.reporting.jobs import REPORT_JOB_ID
from tests.fixtures.database import running_app


def test_the_inbox_retry_runs_every_interval_and_every_job_is_registered_once(app: Any) -> None:
    services = services_of(app)
    register_jobs(services)
    register_jobs(services)  # a second call adds nothing

    trigger, args = services.jobs.trigger_of(WEBHOOK_RETRY_JOB_ID)
    assert (trigger, args) == ("interval", {"seconds": services.settings.webhook_retry_interval_seconds})
    assert sorted(services.jobs.job_ids) == sorted([WEBHOOK_RETRY_JOB_ID, REPORT_JOB_ID, RECONCILE_JOB_ID])
    trigger, args = services.jobs.trigger_of(RECONCILE_JOB_ID)
    assert trigger == "cron" and args["hour"] == 3


async def test_jobs_start_with_the_app_only_when_run_in_process(
    settings_factory: Callable[..., Settings],
) -> None:
    async with running_app(settings_factory(run_jobs_in_process=False)) as app:
        assert not services_of(app).jobs.started
    async with running_app(settings_factory(run_jobs_in_process=True)) as app:
        jobs = services_of(app).jobs
        assert jobs.started
    assert jobs.stopping.is_set()  # the lifespan's end stopped them


async def test_stop_asks_a_running_job_to_finish_and_waits_for_it() -> None:
    runner = JobRunner()
    finished: list[str] = []

    async def polite(stop: asyncio.Event) -> None:
        await stop.wait()
        await asyncio.sleep(0.05)  # finishes what it was doing
        finished.append("polite")

    runner.add("polite", polite, "interval", seconds=3600)
    task = runner.run_now("polite")
    await asyncio.sleep(0)

    await runner.stop(timeout=5)

    assert finished == ["polite"] and task is not None and not task.cancelled()
    assert runner.run_now("polite") is None  # nothing starts once stopping


async def test_a_job_that_ignores_stop_is_cancelled_after_the_timeout() -> None:
    runner = JobRunner()

    async def stubborn(_: asyncio.Event) -> None:
        await asyncio.sleep(60)

    runner.add("stubborn", stubborn, "interval", seconds=3600)
    task = runner.run_now("stubborn")
    started = time.monotonic()

    await runner.stop(timeout=0.2)

    assert time.monotonic() - started < 2
    assert task is not None and task.cancelled()


async def test_a_job_still_running_is_not_started_again() -> None:
    runner = JobRunner()
    release = asyncio.Event()
    runs = 0

    async def slow(_: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        await release.wait()

    runner.add("slow", slow, "interval", seconds=3600)
    first = runner.run_now("slow")
    await asyncio.sleep(0)
    assert runner.run_now("slow") is None
    release.set()
    assert first is not None
    await first
    again = runner.run_now("slow")
    assert again is not None
    await again
    assert runs == 2
    await runner.stop(timeout=1)
