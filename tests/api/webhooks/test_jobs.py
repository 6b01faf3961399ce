"""jobs.py: the scheduler carries the webhook inbox retry job and only starts when jobs run in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portal_api.config import Settings
from portal_api.jobs import build_scheduler, start_jobs, stop_jobs
from tests.fixtures.database import running_app


def test_scheduler_runs_the_inbox_retry_every_interval(app: Any) -> None:
    scheduler = build_scheduler(app)

    job = scheduler.get_job("webhook_inbox_retry")
    assert job is not None

    assert job.id == "webhook_inbox_retry"
    assert job.trigger.interval.total_seconds() == app.state.settings.webhook_retry_interval_seconds
    assert job.args == (app.state.webhook_inbox,) and job.max_instances == 1


async def test_jobs_start_with_the_app_only_when_run_in_process(
    settings_factory: Callable[..., Settings],
) -> None:
    async with running_app(settings_factory(run_jobs_in_process=False)) as app:
        assert start_jobs(app) is None
    async with running_app(settings_factory(run_jobs_in_process=True)) as app:
        scheduler = start_jobs(app)
        assert scheduler is not None and scheduler.running
        stop_jobs(scheduler)
