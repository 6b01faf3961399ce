"""Usage reaches Stripe exactly once: through injected 500s, timeouts and dropped responses, and a reporter
killed midway and restarted, Stripe's totals equal the true usage for all four charge-by modes, on both the
legacy usage-record path (2020-08-27) and the Billing Meters path (2025-03-31.basil)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from portal_api.main import services_of
from portal_api.reporting.models import ReportStatus, UsageReport
from stripe_emulator.testing import EmulatorServer
from tests.api.reporting.world import HOUR, MODES, World, fast_reporting
from tests.fixtures.emulator import BASIL, LEGACY

CUSTOMERS = 30
HOURS = 4
FAULT_BUDGET = 10_000  # per fault; what is left of it tells how many fired


def usage_path(world: World) -> str:
    return "/v1/billing/meter_events" if world.meters_api else r"^/v1/subscription_items/[^/]+/usage_records$"


def inject_faults(emulator: EmulatorServer, path: str) -> None:
    """About 60% of usage calls fail: a 500 not applied, a response dropped after applying, or a hang."""
    emulator.add_fault(path, "error", method="POST", count=FAULT_BUDGET, probability=0.3)
    emulator.add_fault(path, "drop", method="POST", count=FAULT_BUDGET, probability=0.3)
    emulator.add_fault(path, "timeout", method="POST", count=FAULT_BUDGET, probability=0.12, seconds=0.4)


def faults_fired(emulator: EmulatorServer) -> dict[str, int]:
    return {fault["mode"]: FAULT_BUDGET - fault["count"] for fault in emulator.faults()}


async def unfinished(world: World) -> int:
    async with services_of(world.app).database.write_factory() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(UsageReport)
            .where(UsageReport.status.in_(ReportStatus.UNFINISHED))
        )
        return int(count or 0)


async def corrections(world: World) -> int:
    async with services_of(world.app).database.write_factory() as session:
        count = await session.scalar(
            select(func.count()).select_from(UsageReport).where(UsageReport.revision > 0)
        )
        return int(count or 0)


async def run_killed_midway(world: World, after: int) -> None:
    """Start a run and cancel it once `after` reports are done (requests to Stripe are in flight then)."""
    killed = asyncio.Event()

    def progress(done: int, total: int) -> None:
        if done >= after:
            killed.set()

    task = asyncio.create_task(world.report(progress=progress))
    waiter = asyncio.create_task(killed.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def report_until_done(world: World, runs: int = 6) -> list[Any]:
    results = []
    for _ in range(runs):
        results.append(await world.report())
        if not await unfinished(world):
            return results
    raise AssertionError(f"reports still unfinished after {runs} runs: {results[-1]}")


async def use_random_hours(world: World, rng: random.Random, hours: int) -> None:
    start = world.now.replace(minute=0, second=0, microsecond=0)
    for index in range(hours):
        hour = start + index * HOUR
        moment = max(hour + timedelta(minutes=40), world.now)
        world.advance_to(moment)
        calls = [(c, moment, rng.randint(1, 6)) for c in world.customers]
        await world.ingest_calls(calls, now=moment)
    world.advance_to(start + hours * HOUR + timedelta(minutes=1))


def assert_stripe_equals_true_usage(world: World) -> None:
    wrong = []
    for customer in world.customers:
        for mode in MODES:
            have, want = world.stripe_quantity(customer, mode), Decimal(world.expected(customer, mode))
            if have != want:
                wrong.append((customer.subscription_id, mode.value, str(have), str(want)))
    assert not wrong, f"Stripe differs from the true usage: {wrong[:10]}"


def assert_invoice_bills_true_usage(world: World) -> None:
    unit = world.prices[MODES[0]]["unit_amount"]
    for customer in world.customers[:5]:
        preview = world.invoice_preview(customer)
        by_item = {line["subscription_item"]: line for line in preview["lines"]["data"]}
        for mode in MODES:
            assert by_item[customer.items[mode]]["amount"] == unit * world.expected(customer, mode), mode


@pytest.mark.parametrize("stripe_version", [LEGACY, BASIL])
async def test_usage_reaches_stripe_exactly_once_through_faults_and_a_killed_reporter(
    world: World, emulator: EmulatorServer, stripe_version: str
) -> None:
    rng = random.Random(7)
    world.use_reporting(fast_reporting(reporting_stripe_timeout_seconds=0.25))
    await world.add_customers(CUSTOMERS)
    await use_random_hours(world, rng, HOURS)
    inject_faults(emulator, usage_path(world))

    await run_killed_midway(world, after=rng.randint(20, 120))
    results = await report_until_done(world)

    fired = faults_fired(emulator)
    emulator.clear_faults()
    assert sum(fired.values()) >= 500, fired  # two tests x two backends: well over 1,000 faults in all
    assert all(fired[mode] > 0 for mode in ("error", "drop", "timeout")), fired
    assert sum(r.retries for r in results) > 0
    assert_stripe_equals_true_usage(world)
    assert_invoice_bills_true_usage(world)

    # Late usage for hours already reported, under faults again: corrections, never double counting.
    inject_faults(emulator, usage_path(world))
    first = world.now.replace(minute=0, second=0, microsecond=0) - HOURS * HOUR
    late = [(c, first + timedelta(minutes=50), rng.randint(1, 9)) for c in world.customers]
    await world.ingest_calls(late, now=world.now)
    await run_killed_midway(world, after=rng.randint(5, 40))
    await report_until_done(world)
    emulator.clear_faults()
    assert await corrections(world) >= CUSTOMERS  # a delta for every sum item at least
    assert_stripe_equals_true_usage(world)

    # Nothing left to do: another run sends nothing.
    again = await world.report()
    assert (again.planned, again.sent, again.failed) == (0, 0, 0)
