"""Restart safety: SIGKILL the API mid-ingest and the reporter mid-run, repeatedly; nothing lost or doubled.

Real processes over one SQLite file (tests/api/restart/stack.py): the emulator runs throughout (Stripe's
state); the API (uvicorn) is killed at random moments while a client streams usage batches to it, and
restarted; at the same time reporter runs (`portal-api backfill`) are killed once their run has started,
with emulator faults slowing the usage-record POSTs (timeouts longer than the reporter's Stripe timeout) and
losing some responses after the record was applied, so kills land in the middle of sending. Processes are
forked from an interpreter that has the app imported (forkserver.py), so a restart takes milliseconds.
Unacknowledged batches are re-sent (safe: events are deduplicated by id). At the end one clean report run,
then: every acknowledged event is stored exactly once, and for every subscription item Stripe's total equals
our rollups and the events we stored, with no ledger row left unfinished.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.api.restart.stack import (
    Seeded,
    Stack,
    read_stored,
    seed,
    stripe_totals,
    usage_record_posts,
)
from tests.fixtures.members import ADMIN

CUSTOMERS = 16
BATCH = 20
KILL_PHASE_SECONDS = 32.0
MAX_API_KILLS = 12
MAX_REPORTER_KILLS = 38  # at most 50 kills in all
REPORTER_ENV = {
    "REPORTING_STRIPE_TIMEOUT_SECONDS": "0.25",
    "REPORTING_CONCURRENCY": "2",
    "REPORTING_MAX_ATTEMPTS": "4",
}


class Client:
    """Streams usage batches; a batch counts as acknowledged only on a 2xx, otherwise it is sent again."""

    def __init__(self, stack: Stack, seeded: Seeded) -> None:
        self.stack = stack
        self.keys = seeded.keys
        self.user_of = dict(zip(seeded.keys, seeded.user_ids, strict=True))
        self.rng = random.Random(5)
        self.owner: dict[str, str] = {}  # dedupe key -> user id, every event ever sent
        self.acked: set[str] = set()
        self.retry: list[list[dict[str, Any]]] = []
        self.failed_posts = 0

    def batch(self) -> list[dict[str, Any]]:
        if self.retry:
            return self.retry.pop()
        events = []
        for _ in range(BATCH):
            key, event_id = self.rng.choice(self.keys), uuid.uuid4().hex
            moment = self.rng.choice(self.stack.hours) + timedelta(seconds=self.rng.randrange(3600))
            events.append(
                {"id": event_id, "key": key, "route": "/v1/things", "method": "GET", "status": 200}
                | {"timestamp": moment.isoformat()}
            )
            self.owner[f"api:{event_id}"] = self.user_of[key]
        return events

    async def send(self, http: httpx.AsyncClient, events: list[dict[str, Any]]) -> bool:
        try:
            response = await http.post(
                "/v1/usage/events",
                json={"events": events},
                headers=ADMIN,
            )
        except httpx.HTTPError:
            response = None
        if response is not None and response.status_code == 200:
            assert response.json()["rejected"] == []
            self.acked.update(f"api:{e['id']}" for e in events)
            return True
        self.failed_posts += 1
        self.retry.append(events)
        return False

    async def run(self, stop_at: float) -> None:
        async with httpx.AsyncClient(base_url=self.stack.api_url, timeout=5) as http:
            while time.monotonic() < stop_at:
                if not await self.send(http, self.batch()):
                    await asyncio.sleep(0.05)  # the API is down or restarting

    async def resend_unacknowledged(self) -> None:
        async with httpx.AsyncClient(base_url=self.stack.api_url, timeout=10) as http:
            for _ in range(100):
                if not self.retry:
                    return
                await self.send(http, self.retry.pop())
        raise AssertionError("unacknowledged batches could not be re-sent")


class Forks:
    """The fork server's client: spawn, poll and SIGKILL real API and backfill processes."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.server = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("forkserver.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=stack.env(**REPORTER_ENV),
            cwd=stack.folder,
        )
        self.lock = threading.Lock()
        self.api = 0

    def ask(self, line: str) -> str:
        assert self.server.stdin is not None and self.server.stdout is not None
        with self.lock:
            self.server.stdin.write(line.encode() + b"\n")
            self.server.stdin.flush()
            return self.server.stdout.readline().decode().strip()

    def spawn(self, *command: str) -> int:
        return int(self.ask(" ".join(command)))

    def exit_code(self, pid: int) -> int | None:
        answer = self.ask(f"poll {pid}")
        return None if answer == "running" else (-1 if answer == "gone" else int(answer))

    async def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        while self.exit_code(pid) is None:
            await asyncio.sleep(0.01)

    async def start_api(self) -> None:
        self.api = self.spawn("api", str(self.stack.api_port))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.exit_code(self.api) is None, "the API exited on start"
            try:
                async with httpx.AsyncClient(timeout=1) as http:
                    if (await http.get(f"{self.stack.api_url}/healthz")).status_code == 200:
                        return
            except httpx.HTTPError:
                await asyncio.sleep(0.02)
        raise AssertionError("the API did not start")

    def backfill(self) -> int:
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return self.spawn("backfill", self.stack.hours[0].isoformat(), end.isoformat())

    def close(self) -> None:
        if self.api and self.exit_code(self.api) is None:
            os.kill(self.api, signal.SIGKILL)
        assert self.server.stdin is not None
        self.server.stdin.close()
        self.server.wait(timeout=10)


async def kill_api_repeatedly(forks: Forks, stop_at: float, rng: random.Random) -> int:
    kills = 0
    while time.monotonic() < stop_at and kills < MAX_API_KILLS:
        await asyncio.sleep(rng.uniform(0.2, 1.0))
        assert forks.exit_code(forks.api) is None, "the API died on its own"
        await forks.kill(forks.api)
        kills += 1
        await forks.start_api()
    return kills


def runs(database: Path) -> dict[str, str]:
    """Report run id -> status."""
    with sqlite3.connect(database, timeout=30) as conn:
        return dict(conn.execute("SELECT id, status FROM usage_report_runs").fetchall())


async def kill_reporter_repeatedly(forks: Forks, stop_at: float, rng: random.Random) -> tuple[int, int]:
    """(kills, kills that landed during a run: its row was written and still says running afterwards)."""
    database = forks.stack.folder / "stack.db"
    kills = mid_run = 0
    while time.monotonic() < stop_at and kills < MAX_REPORTER_KILLS:
        before = runs(database)
        pid = forks.backfill()
        started = None
        deadline = time.monotonic() + 10
        while forks.exit_code(pid) is None and time.monotonic() < deadline:
            if started is None and set(runs(database)) - set(before):
                started = time.monotonic() + rng.uniform(0.0, 0.6)  # kill this long into the run
            if started is not None and time.monotonic() >= started:
                break
            await asyncio.sleep(0.01)
        else:
            continue  # finished before the kill: no kill this round
        await forks.kill(pid)
        kills += 1
        new = {run: status for run, status in runs(database).items() if run not in before}
        mid_run += "running" in new.values()
    return kills, mid_run


async def test_killing_the_api_and_the_reporter_loses_nothing_and_reports_nothing_twice(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path)
    forks: Forks | None = None
    try:
        stack.start_emulator()
        seeded = await seed(stack, CUSTOMERS)
        forks = Forks(stack)
        await forks.start_api()
        for fault in (
            {"mode": "timeout", "probability": 0.3, "seconds": 0.5},  # not applied, after our timeout
            {"mode": "drop", "probability": 0.1},  # applied, response lost
        ):
            body = {"path": r"/usage_records$", "method": "POST", "count": 1_000_000} | fault
            httpx.post(f"{stack.emulator_url}/_emulator/faults", json=body, timeout=10).raise_for_status()
        client = Client(stack, seeded)
        rng = random.Random(8)
        stop_at = time.monotonic() + KILL_PHASE_SECONDS

        _, api_kills, (reporter_kills, mid_run_kills) = await asyncio.gather(
            client.run(stop_at),
            kill_api_repeatedly(forks, stop_at, rng),
            kill_reporter_repeatedly(forks, stop_at, rng),
        )
        await client.resend_unacknowledged()
        httpx.delete(f"{stack.emulator_url}/_emulator/faults", timeout=10).raise_for_status()
        await asyncio.sleep(1.5)  # the killed runs' heartbeats are older than REPORTING_STALE_RUN_SECONDS
        final = forks.backfill()
        deadline = time.monotonic() + 60
        while (code := forks.exit_code(final)) is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert code == 0, "the final report run failed"

        stored = await read_stored(stack, seeded.meter_id)
        totals = stripe_totals(stack, seeded.items.values())
        posts = usage_record_posts(stack)
    finally:
        if forks is not None:
            forks.close()
        stack.stop_all()

    print(
        f"\nkills: API {api_kills}, reporter {reporter_kills} ({mid_run_kills} mid-run); events sent "
        f"{len(client.owner)}, acknowledged {len(client.acked)}, stored {len(stored.dedupe_counts)}, "
        f"failed posts {client.failed_posts}; Stripe total {sum(totals.values())}; ledger rows sent "
        f"{sum(stored.ledger_sent.values())}, usage record POSTs {sum(posts.values())}"
    )
    assert api_kills >= 5 and mid_run_kills >= 5, "the kills must land during ingest and reporting"
    assert client.failed_posts > 0, "some batches must have been cut off by a kill"
    # Every acknowledged event is stored, exactly once (re-sent batches were deduplicated).
    assert client.acked == set(client.owner)  # everything was acknowledged in the end (after re-sends)
    assert set(stored.dedupe_counts) == client.acked
    assert set(stored.dedupe_counts.values()) == {1}
    # Stripe holds exactly the true usage per item: no hour reported twice, none missing.
    truth: dict[str, int] = {}
    for key in stored.dedupe_counts:
        truth[client.owner[key]] = truth.get(client.owner[key], 0) + 1
    per_item = {
        item: (totals[item], stored.rollup_events.get(user, 0), truth.get(user, 0))
        for user, item in seeded.items.items()
    }
    assert all(a == b == c for a, b, c in per_item.values()), per_item
    assert stored.ledger_unfinished == 0
    # Every sent ledger row reached Stripe; re-tries of a row reuse its key, so POSTs >= rows.
    for item, rows in stored.ledger_sent.items():
        assert posts.get(item, 0) >= rows
