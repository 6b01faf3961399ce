"""Load: key verify, usage ingest and Moesif collector ingest at once while the hourly reporter runs; no loss.

Loopback only, all real processes: `stripe-emulator` and the API (uvicorn, rate limits off, temp SQLite file)
on free 127.0.0.1 ports, seeded with CUSTOMERS customers (subscription to a metered "sum" price, an API key
each) and one event-count meter (tests/api/restart/stack.py). CONCURRENCY httpx clients share one event
loop: half verify keys (POST /v1/keys/verify), a quarter POST /v1/usage/events batches, a quarter POST
gzipped Moesif batches to /collector/v1/events/batch; every event falls in one of the two hours just closed.
Meanwhile `portal-api backfill` runs back to back over those hours (the reporter, as a subprocess), so reports
and their corrections go out under load. The phase stops at a per-operation request cap or PHASE_SECONDS.

Then a final reporter run and the checks: every acknowledged event id is stored once (lost = acked ids not in
the database), and for every subscription item Stripe's usage record summary equals our rollups and the
events the clients had acknowledged. Rows: per operation throughput, p50/p99, errors; one integrity row.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared stack lives in tests/

from tests.api.restart.stack import (
    ADMIN_TOKEN,
    Stack,
    read_stored,
    seed,
    stripe_totals,
    usage_record_posts,
)

CUSTOMERS = 50
CONCURRENCY = 16
PHASE_SECONDS = 20.0
BATCH = 100  # events per ingest request
MAX_REQUESTS = {"verify": 200_000, "usage": 2_000, "collector": 2_000}
FINAL_REPORT_TIMEOUT_S = 60.0
BACKFILL_TIMEOUT_S = 60.0  # one `portal-api backfill` under load; killed (and counted as failed) past this

Row = dict[str, Any]
PORTAL_API = Path(sys.executable).with_name("portal-api")  # the installed console script


class BenchStack(Stack):
    """The shared stack, but `portal-api backfill` run through the installed console script, as an operator
    runs it: the stack's `python -m portal_api.cli` needs a portal_api/cli/__main__.py, which is absent."""

    def backfill(self, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        command = [str(PORTAL_API), "backfill", "--from", self.hours[0].isoformat(), "--to", end.isoformat()]
        with (self.folder / "backfill.log").open("ab") as log:  # a file, never a pipe nobody reads
            return subprocess.Popen(
                command, env=self.env(**(extra_env or {})), stdout=log, stderr=log, cwd=self.folder
            )


class Operation:
    """One operation's latencies and counts (a plain class: run_all loads scripts outside sys.modules)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.errors = 0
        self.events = 0  # events acknowledged (ingest operations)
        self.seconds = 0.0

    def row(self) -> Row:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else None

        done = len(self.latencies)
        return {
            "figure": self.name,
            "requests": done,
            "errors": self.errors,
            "req/s": done / self.seconds if self.seconds else None,
            "events/s": self.events / self.seconds if self.events and self.seconds else None,
            "p50 ms": pct(0.50),
            "p99 ms": pct(0.99),
            "check": None,
        }


class Load:
    """The clients' side: what was sent, what was acknowledged, per customer."""

    def __init__(self, keys: list[str], user_ids: list[str], hours: list[datetime]) -> None:
        self.keys = keys
        self.user_of = dict(zip(keys, user_ids, strict=True))
        self.hours = hours
        self.rng = random.Random(11)
        self.sent: set[str] = set()  # dedupe keys of every event sent
        self.acked: dict[str, str] = {}  # dedupe key -> user id, for 2xx answers
        self.ops = {name: Operation(name) for name in ("verify", "usage", "collector")}

    def moment(self) -> str:
        return (self.rng.choice(self.hours) + timedelta(seconds=self.rng.randrange(3600))).isoformat()

    def usage_body(self) -> tuple[bytes, dict[str, str]]:
        events, ids = [], {}
        for _ in range(BATCH):
            key, event_id = self.rng.choice(self.keys), uuid.uuid4().hex
            events.append(
                {
                    "id": event_id,
                    "key": key,
                    "route": f"/v1/items/{self.rng.randrange(100)}",
                    "method": "GET",
                    "status": 200,
                    "timestamp": self.moment(),
                }
            )
            ids[f"api:{event_id}"] = self.user_of[key]
        return json.dumps({"events": events}).encode(), ids

    def collector_body(self) -> tuple[bytes, dict[str, str]]:
        events, ids = [], {}
        for _ in range(BATCH):
            key, transaction = self.rng.choice(self.keys), str(uuid.uuid4())
            when = self.moment()
            events.append(
                {
                    "request": {
                        "time": when,
                        "uri": f"https://api.example.com/v1/items/{self.rng.randrange(100)}",
                        "verb": "GET",
                        "headers": {"host": "api.example.com", "x-api-key": key},
                    },
                    "response": {"time": when, "status": 200, "headers": {}},
                    "transaction_id": transaction,
                    "direction": "Incoming",
                }
            )
            ids[f"moesif:{transaction}"] = self.user_of[key]
        return gzip.compress(json.dumps(events).encode()), ids


async def client_loop(
    load: Load, client: httpx.AsyncClient, kind: str, collector: str, stop_at: float
) -> None:
    op = load.ops[kind]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    while time.perf_counter() < stop_at and len(op.latencies) + op.errors < MAX_REQUESTS[kind]:
        ids: dict[str, str] = {}
        if kind == "verify":
            path, body, headers = "/v1/keys/verify", json.dumps({"key": load.rng.choice(load.keys)}), admin
        elif kind == "usage":
            (body_bytes, ids), path, headers = load.usage_body(), "/v1/usage/events", admin
            body = body_bytes.decode()
        else:
            (raw, ids), path = load.collector_body(), "/collector/v1/events/batch"
            headers = {
                "X-Moesif-Application-Id": collector,
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            }
        load.sent.update(ids)
        started = time.perf_counter()
        try:
            response = await client.post(
                path, content=raw if kind == "collector" else body.encode(), headers=headers
            )
            ok = 200 <= response.status_code < 300
            if ok and kind == "verify":
                ok = response.json().get("valid") is True
        except httpx.HTTPError:
            ok = False
        if ok:
            op.latencies.append(time.perf_counter() - started)
            load.acked.update(ids)
            op.events += len(ids)
        else:
            op.errors += 1


def wait_or_kill(process: subprocess.Popen[bytes], timeout: float) -> int:
    """The exit status, or -9 after killing a process that outlived `timeout` seconds."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        return -9


async def reporter_loop(stack: Stack, stop_at: float) -> tuple[int, int]:
    """`portal-api backfill` back to back until the phase ends; (runs, runs that exited non-zero)."""
    runs = failed = 0
    while time.perf_counter() < stop_at:
        status = await asyncio.to_thread(wait_or_kill, stack.backfill(), BACKFILL_TIMEOUT_S)
        runs += 1
        failed += status != 0
    return runs, failed


async def main() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        stack = BenchStack(Path(folder))
        try:
            stack.start_emulator()
            seeded = await seed(stack, CUSTOMERS)
            stack.start_api()
            load = Load(seeded.keys, seeded.user_ids, stack.hours)
            limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
            kinds = ["verify"] * (CONCURRENCY // 2) + ["usage", "collector"] * (CONCURRENCY // 4)
            async with httpx.AsyncClient(base_url=stack.api_url, limits=limits, timeout=30) as client:
                started = time.perf_counter()
                stop_at = started + PHASE_SECONDS
                reporter = asyncio.create_task(reporter_loop(stack, stop_at))
                await asyncio.gather(
                    *(client_loop(load, client, k, seeded.collector_token, stop_at) for k in kinds)
                )
                for op in load.ops.values():
                    op.seconds = time.perf_counter() - started
                runs, failed_runs = await reporter
            final = await asyncio.to_thread(wait_or_kill, stack.backfill(), FINAL_REPORT_TIMEOUT_S)
            if final != 0:
                raise RuntimeError(f"final backfill failed: {stack.backfill_log_tail()}")
            stored = await read_stored(stack, seeded.meter_id)
            totals = stripe_totals(stack, seeded.items.values())
            posts = usage_record_posts(stack)
            log = (stack.folder / "backfill.log").read_text(errors="replace")
        finally:
            stack.stop_all()
            if stack.api is not None and stack.api.poll() is None:
                stack.api.kill()
    return [op.row() for op in load.ops.values()] + [
        integrity_row(load, seeded.items, stored, totals, posts, runs + 1, failed_runs, log)
    ]


def integrity_row(
    load: Load,
    items: dict[str, str],
    stored: Any,
    totals: dict[str, int],
    posts: dict[str, int],
    runs: int,
    failed_runs: int,
    log: str,
) -> Row:
    lost = sum(1 for key in load.acked if key not in stored.dedupe_counts)
    duplicates = sum(n - 1 for n in stored.dedupe_counts.values())
    truth: dict[str, int] = {}
    for user in load.acked.values():
        truth[user] = truth.get(user, 0) + 1
    wrong = [
        user
        for user, item in items.items()
        if not (totals.get(item, 0) == stored.rollup_events.get(user, 0) == truth.get(user, 0))
    ]
    replays = sum(posts.values()) - sum(stored.ledger_sent.values())
    outcomes = re.findall(r"backfill \w+: (\d+) sent, \d+ corrections, (\d+) failed", log)
    failed_sends = sum(int(failed) for _, failed in outcomes)
    if failed_runs:  # name why: the last error line a failed run wrote
        errors = [line for line in log.splitlines() if "Error" in line or "backfill failed" in line]
        print(f"load: {failed_runs} report run(s) failed; last error: {errors[-1:]}", file=sys.stderr)
    ok = lost == 0 and duplicates == 0 and not wrong and stored.ledger_unfinished == 0
    check = (
        f"{'OK' if ok else 'FAILED'}: sent {len(load.sent)}, acked {len(load.acked)}, "
        f"stored {len(stored.dedupe_counts)}, lost {lost}, duplicates {duplicates}; Stripe total "
        f"{sum(totals.values())} = rollups {sum(stored.rollup_events.values())} = acked on "
        f"{len(items) - len(wrong)}/{len(items)} items; {runs} report runs ({failed_runs} failed), "
        f"{sum(stored.ledger_sent.values())} ledger rows sent, {sum(posts.values())} usage record POSTs "
        f"({replays} more: same-key re-sends; runs reported {failed_sends} failed sends), "
        f"{stored.ledger_unfinished} unfinished"
    )
    if not ok:
        raise AssertionError(check)
    return {
        "figure": "integrity after final report",
        "requests": None,
        "errors": None,
        "req/s": None,
        "events/s": None,
        "p50 ms": None,
        "p99 ms": None,
        "check": check,
    }


if __name__ == "__main__":
    from run_all import print_table

    print_table(asyncio.run(main()))
