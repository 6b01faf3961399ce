"""Several processes on one PostgreSQL database, as real processes: a key revoked through one API process is
refused by another within a second, and so is a webhook signed with a secret replaced there (the change feed
over LISTEN/NOTIFY); of three workers exactly one runs the jobs and another takes over when it is killed (an
advisory lock); three report runs at once send each hour to Stripe once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stripe_emulator.testing import free_port
from tests.api.restart.stack import Stack, read_stored, seed, stripe_totals, usage_record_posts, wait_ready
from tests.api.restart.test_kill_during_ingest_and_reporting import Client
from tests.fixtures.database import truncate_all
from tests.fixtures.members import ADMIN, sign_up

WITHIN = 1.0


@pytest.fixture
def stack(postgresql_url: str, tmp_path: Path) -> Iterator[Stack]:
    asyncio.run(truncate_all(postgresql_url))
    stack = Stack(tmp_path, database=postgresql_url)
    stack.start_emulator()
    processes: list[subprocess.Popen[bytes]] = []
    stack.extra = processes  # type: ignore[attr-defined]
    try:
        yield stack
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        stack.stop_all()


def launch(stack: Stack, command: list[str], name: str, **env: str) -> subprocess.Popen[bytes]:
    log = (stack.folder / f"{name}.log").open("wb")
    process = subprocess.Popen(
        command,
        env=stack.env(LOG_JSON="true", LOG_LEVEL="INFO", **env),
        stdout=log,
        stderr=log,
        cwd=stack.folder,
    )
    stack.extra.append(process)  # type: ignore[attr-defined]
    return process


def api_process(stack: Stack, name: str) -> str:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "portal_api.main:create_app",
        "--factory",
        "--port",
        str(port),
    ]
    process = launch(stack, command, name)
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/healthz", process)
    return url


def log_events(stack: Stack, name: str, event: str) -> list[dict[str, Any]]:
    found = []
    for line in (stack.folder / f"{name}.log").read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == event:
            found.append(record)
    return found


async def until(check: Any, within: float) -> float:
    """Poll `check()` (async, truthy when done) every 20 ms; the seconds it took, failing past `within`."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within, f"not seen within {within} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_revocation_and_a_new_signing_secret_reach_the_other_process_within_a_second(
    stack: Stack,
) -> None:
    one, other = api_process(stack, "api-one"), api_process(stack, "api-other")
    async with httpx.AsyncClient(base_url=one) as first, httpx.AsyncClient(base_url=other) as second:
        member = await sign_up(first, "owner@example.com")
        key = (await first.post("/v1/keys", json={"name": "k"}, headers=member.headers)).json()
        before = await second.post("/v1/keys/verify", json={"key": key["secret"]}, headers=ADMIN)
        assert before.json()["reason"] == "no_subscription"  # the other process has the key cached now

        assert (await first.delete(f"/v1/keys/{key['id']}", headers=member.headers)).status_code == 200

        async def refused() -> bool:
            response = await second.post("/v1/keys/verify", json={"key": key["secret"]}, headers=ADMIN)
            return bool(response.json()["reason"] == "revoked")

        took = await until(refused, WITHIN)

        saved = await first.put(
            "/v1/admin/billing-provider", json={"webhook_secret": "whsec_rotated_secret"}, headers=ADMIN
        )
        assert saved.status_code == 200, saved.text
        payload = json.dumps(
            {"id": "evt_relay_1", "object": "event", "type": "radar.x", "data": {"object": {}}}
        )

        async def accepted() -> bool:
            header = httpx.post(
                f"{stack.emulator_url}/_emulator/webhooks/sign",
                json={"payload": payload, "secret": "whsec_rotated_secret"},
                timeout=5,
            ).json()["header"]
            response = await second.post(
                "/v1/webhooks/stripe", content=payload, headers={"Stripe-Signature": header}
            )
            return response.status_code == 200

        await until(accepted, WITHIN)
    print(f"\nrevocation seen by the other process after {took * 1000:.0f} ms")


async def test_of_three_workers_one_runs_the_jobs_and_another_takes_over_when_it_is_killed(
    stack: Stack,
) -> None:
    names = ["worker-a", "worker-b", "worker-c"]
    command = [sys.executable, "-m", "portal_api.cli", "worker"]
    workers = {name: launch(stack, command, name) for name in names}

    def leaders() -> list[str]:
        return [name for name in names if log_events(stack, name, "jobs_leader_elected")]

    async def one_leader() -> bool:
        return len(leaders()) == 1

    await until(one_leader, 20)
    await asyncio.sleep(3)  # the others keep trying (every 2 s) and must not win
    [first] = leaders()
    os.kill(workers[first].pid, signal.SIGKILL)
    workers[first].wait(timeout=10)

    async def taken_over() -> bool:
        return len(leaders()) == 2

    await until(taken_over, 10)
    assert len(leaders()) == 2 and first in leaders()
    for name, process in workers.items():
        if name != first:
            process.send_signal(signal.SIGTERM)
    for name, process in workers.items():
        assert process.wait(timeout=20) is not None, name


async def test_three_report_runs_at_once_send_each_hour_to_stripe_once(stack: Stack) -> None:
    seeded = await seed(stack, 6)
    stack.start_api()
    client = Client(stack, seeded)
    await client.run(time.monotonic() + 2.0)
    await client.resend_unacknowledged()

    runs = [stack.backfill() for _ in range(3)]
    codes = [run.wait(timeout=120) for run in runs]

    assert codes == [0, 0, 0], stack.backfill_log_tail()
    stored = await read_stored(stack, seeded.meter_id)
    totals = stripe_totals(stack, seeded.items.values())
    posts = usage_record_posts(stack)
    assert stored.ledger_unfinished == 0
    for user, item in seeded.items.items():
        assert totals[item] == stored.rollup_events.get(user, 0)
        assert posts.get(item, 0) == stored.ledger_sent.get(item, 0)  # one POST per ledger row: no hour twice
    assert sum(stored.ledger_sent.values()) > 0
