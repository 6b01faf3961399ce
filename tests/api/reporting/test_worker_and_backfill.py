"""`portal-api worker` runs the webhook retry and hourly report jobs until SIGTERM; the API runs the report
in-process when asked to; `portal-api backfill` reports hours outside the hourly lookback window;
`portal-api report` runs one pass of the hourly report now. (The database checks every command makes first
are in tests/api/cli.)"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from portal_api.cli import commands
from portal_api.cli import main as cli
from portal_api.cli.commands import command_services
from portal_api.cli.signals import stoppable
from portal_api.config import Settings
from portal_api.core.container import Services
from portal_api.main import services_of
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.reconciliation.jobs import RECONCILE_JOB_ID
from portal_api.reporting.backfill import backfill
from portal_api.reporting.jobs import REPORT_JOB_ID, report_usage
from portal_api.worker import run_worker
from tests.api.reporting.world import HOUR, World, fast_reporting
from tests.fixtures.database import running_app


async def test_worker_runs_the_scheduled_jobs_until_sigterm(settings: Settings) -> None:
    jobs: list[str] = []
    services: list[Services] = []

    def started(running: Services) -> None:
        jobs.extend(running.jobs.job_ids)
        services.append(running)
        os.kill(os.getpid(), signal.SIGTERM)

    await asyncio.wait_for(
        stoppable(lambda stop: run_worker(settings, stop=stop, on_started=started), 10), timeout=20
    )

    assert sorted(jobs) == sorted(["webhook_inbox_retry", REPORT_JOB_ID, RECONCILE_JOB_ID])
    assert services[0].closed and services[0].jobs.stopping.is_set()


async def test_the_api_runs_every_job_in_one_runner_when_jobs_run_there(
    settings_factory: Callable[..., Settings],
) -> None:
    async with running_app(settings_factory(run_jobs_in_process=True)) as app:
        jobs = services_of(app).jobs
        assert jobs.started
        assert sorted(jobs.job_ids) == sorted(["webhook_inbox_retry", REPORT_JOB_ID, RECONCILE_JOB_ID])
    async with running_app(settings_factory(run_jobs_in_process=False)) as app:
        assert not services_of(app).jobs.started and services_of(app).jobs.job_ids == []


async def test_the_job_function_reports_and_never_raises(world: World) -> None:
    [customer] = await world.add_customers(1)
    hour = world.now.replace(minute=0, second=0, microsecond=0) - HOUR  # already closed in real time
    await world.use(customer, hour + HOUR, 2, minute=1)

    result = await report_usage(world.reporter, asyncio.Event())

    assert result is not None and result.status == "succeeded"


async def test_backfill_reports_hours_older_than_the_hourly_lookback(
    world: World, settings: Settings
) -> None:
    [customer] = await world.add_customers(1)
    first = world.now.replace(minute=0, second=0, microsecond=0)
    for day in range(4):
        hour = first + timedelta(days=day)
        world.advance_to(hour + timedelta(minutes=30))
        await world.use(customer, hour, day + 1, minute=29)
    world.advance_to(first + timedelta(days=4, hours=1))
    world.use_reporting(fast_reporting(reporting_lookback_hours=50))
    hourly = await world.report()
    assert hourly.failed == 0
    assert world.stripe_quantity(customer, ChargeBy.SUM) == 3 + 4  # the last two days: inside the lookback

    # The backfill runs on a service container of its own (as the CLI does) over an explicit range; the
    # emulator's clock is ahead of real time, so "now" is the world's.
    async with command_services(settings) as own:
        result = await backfill(own.usage_reporter, first, first + timedelta(days=4), now=world.now)

    # sum, last and max get the two older hours; last_ever was replanned over the whole period already.
    assert (result.status, result.sent, result.failed) == ("succeeded", 2 * 3, 0)
    assert world.stripe_quantity(customer, ChargeBy.SUM) == 1 + 2 + 3 + 4
    for mode in (ChargeBy.LAST, ChargeBy.LAST_EVER):
        assert world.stripe_quantity(customer, mode) == 4  # the older hours do not replace the latest
    assert world.stripe_quantity(customer, ChargeBy.MAX) == 4
    async with command_services(settings) as own:
        again = await backfill(own.usage_reporter, first, first + timedelta(days=4), now=world.now)
    assert (again.planned, again.sent) == (0, 0)  # safe to repeat


def test_backfill_command_refuses_bad_dates(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(["backfill", "--from", "yesterday", "--to", "2025-01-02"])

    assert exited.value.code == 2
    assert "--from/--to" in capsys.readouterr().err


async def test_the_report_command_runs_one_pass_like_the_hourly_job(
    world: World, settings: Settings, capsys: Any
) -> None:
    [customer] = await world.add_customers(1)
    hour = world.now.replace(minute=0, second=0, microsecond=0)
    await world.use(customer, hour, 3, minute=0)
    world.advance_to(hour + HOUR + timedelta(minutes=1))

    one_meter = await commands.report(settings, world.meters[ChargeBy.MAX], asyncio.Event(), now=world.now)
    printed = capsys.readouterr().out
    everyone = await commands.report(settings, None, asyncio.Event(), now=world.now)

    assert one_meter == 0 and "report succeeded: 1 sent, 0 corrections, 0 failed" in printed
    assert everyone == 0 and "report succeeded: 3 sent" in capsys.readouterr().out  # the other three modes
    for mode in world.modes:
        assert world.stripe_quantity(customer, mode) == 3
    with pytest.raises(commands.UnknownMeter, match="--meter: there is no meter meter_nope"):
        await commands.report(settings, "meter_nope", asyncio.Event(), now=world.now)
