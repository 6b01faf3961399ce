"""`portal-api backfill` always exits in bounded time: 100 real runs (forked from an interpreter that has the
app imported) get SIGINT, SIGTERM or SIGKILL at random moments while they report through a slow emulator;
every one exits within 10 s, a run stopped by SIGINT/SIGTERM records how it ended (never left `running`),
and a final clean run leaves Stripe holding exactly our usage.

Before the fix, cancelling the reporter's heartbeat in the middle of a query left aiosqlite's worker thread
waiting forever, and the process never exited.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from pathlib import Path

import httpx

from tests.api.restart.stack import Stack, read_stored, seed, stripe_totals
from tests.api.restart.test_kill_during_ingest_and_reporting import Client, Forks, runs

RUNS = 100
AT_ONCE = 2
EXIT_WITHIN = 10.0
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


async def stop_one(forks: Forks, rng: random.Random) -> tuple[signal.Signals, float, bool]:
    """Start a backfill and signal it after a random time: (signal, seconds it took to exit, was running)."""
    pid = forks.backfill()
    await asyncio.sleep(rng.uniform(0.02, 0.3))
    running = forks.exit_code(pid) is None
    sent = rng.choice(SIGNALS)
    signalled = time.monotonic()
    if running:
        os.kill(pid, sent)
    while forks.exit_code(pid) is None:
        assert time.monotonic() - signalled < EXIT_WITHIN, (
            f"backfill {pid} still running {EXIT_WITHIN} s after {sent.name}"
        )
        await asyncio.sleep(0.01)
    return sent, time.monotonic() - signalled, running


async def test_a_hundred_backfills_signalled_at_random_points_all_exit_within_ten_seconds(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path)
    forks: Forks | None = None
    try:
        stack.start_emulator()
        seeded = await seed(stack, 8)
        forks = Forks(stack)
        await forks.start_api()
        client = Client(stack, seeded)
        await client.run(time.monotonic() + 2.0)
        await client.resend_unacknowledged()
        # Slow Stripe: every usage record answers late (so a run lasts long enough to be signalled mid-way),
        # some after the reporter's own timeout (it retries with backoff).
        for fault in (
            {"mode": "delay", "seconds": 0.05},
            {"mode": "timeout", "probability": 0.2, "seconds": 0.4},
        ):
            body = {"path": r"/usage_records$", "method": "POST", "count": 1_000_000} | fault
            httpx.post(f"{stack.emulator_url}/_emulator/faults", json=body, timeout=10).raise_for_status()
        rng = random.Random(11)
        database = stack.folder / "stack.db"
        results: list[tuple[signal.Signals, float, bool]] = []
        left_running = 0  # runs still marked running after their round, beyond the SIGKILLed ones
        for _ in range(RUNS // AT_ONCE):
            before = set(runs(database))
            round_ = await asyncio.gather(*(stop_one(forks, rng) for _ in range(AT_ONCE)))
            results += round_
            statuses = [status for run, status in runs(database).items() if run not in before]
            killed = sum(1 for sent, _, running in round_ if running and sent is signal.SIGKILL)
            left_running += max(0, statuses.count("running") - killed)
        httpx.delete(f"{stack.emulator_url}/_emulator/faults", timeout=10).raise_for_status()
        await asyncio.sleep(1.5)  # SIGKILLed runs' heartbeats are older than REPORTING_STALE_RUN_SECONDS now
        final = forks.backfill()
        deadline = time.monotonic() + 60
        while (code := forks.exit_code(final)) is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert code == 0, "the final report run failed"
        stored = await read_stored(stack, seeded.meter_id)
        totals = stripe_totals(stack, seeded.items.values())
    finally:
        if forks is not None:
            forks.close()
        stack.stop_all()

    signalled = [r for r in results if r[2]]
    by_signal = {
        sent.name: [seconds for s, seconds, running in signalled if s is sent and running] for sent in SIGNALS
    }
    print(
        f"\n{len(results)} runs, {len(signalled)} signalled while running; exit after the signal: "
        + ", ".join(
            f"{name} max {max(v):.2f} s mean {sum(v) / len(v):.2f} s (n={len(v)})"
            for name, v in by_signal.items()
            if v
        )
    )
    assert len(results) == RUNS and len(signalled) >= RUNS * 0.6
    assert all(by_signal.values()), by_signal  # each signal landed mid-run
    assert left_running == 0  # a run stopped by SIGINT/SIGTERM recorded how it ended
    assert stored.ledger_unfinished == 0
    per_item = {
        item: (totals[item], stored.rollup_events.get(user, 0)) for user, item in seeded.items.items()
    }
    assert all(stripe == ours for stripe, ours in per_item.values()), per_item
