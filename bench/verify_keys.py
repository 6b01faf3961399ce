"""Figure: API key verification latency and throughput, in-process (cache cold / warm) and over loopback HTTP.

Builds a temporary SQLite database with 10,000 users, each with an active subscription and one API key
(rows bulk-inserted with real keyed hashes), then measures:
  (a) KeyVerifier.verify() in this process, as the route calls it: cache cold (one indexed SELECT per key)
      and warm (cache hits);
  (b) POST /v1/keys/verify through a real uvicorn server on 127.0.0.1 (a subprocess), authenticated with an
      admin API token, from a few concurrent httpx clients: first every key once (server cache cold), then a
      bounded number of requests on random keys (warm).
Everything is bounded in count and time and the server is stopped at the end; the run takes well under 2 min.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from portal_api.accounts.models import User
from portal_api.billing.models import Subscription
from portal_api.config import Settings
from portal_api.db import Database, create_engine, new_id
from portal_api.keys.models import ApiKey
from portal_api.keys.verify import KeyVerifier
from portal_api.migrate import upgrade_database
from portal_api.security import keyed_hash

N_KEYS = 10_000
WARM_ROUNDS = 5  # in-process warm calls = N_KEYS * WARM_ROUNDS
HTTP_CLIENTS = 4
HTTP_COLD_REQUESTS = N_KEYS  # every key once
HTTP_WARM_REQUESTS = 20_000
HTTP_SINGLE_CLIENT_REQUESTS = 5_000  # latency without queueing behind the other clients
PHASE_TIME_LIMIT_S = 35.0  # a phase stops early (and says so) rather than overrun
SERVER_START_TIMEOUT_S = 30.0
SECRET_KEY = "bench-secret-key-" + "b" * 32
ADMIN_TOKEN = "mdp_admin_" + "b" * 43
P99_TARGET_MS = 1.0

Row = dict[str, Any]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def row(figure: str, latencies_s: list[float], wall_s: float, note: str = "") -> Row:
    ordered = sorted(latencies_s)
    return {
        "figure": figure,
        "requests": len(ordered),
        "p50 ms": percentile(ordered, 0.50) * 1000,
        "p99 ms": percentile(ordered, 0.99) * 1000,
        "per second": round(len(ordered) / wall_s) if wall_s else 0,
        "note": note,
    }


async def build_database(url: str) -> list[str]:
    """Migrate and bulk-insert users, active subscriptions and keys; returns the key secrets."""
    engine = create_engine(url)
    await upgrade_database(engine)
    now = datetime.now(UTC)
    secrets_out, users, subscriptions, keys = [], [], [], []
    for i in range(N_KEYS):
        user_id = new_id("usr")
        secret = "mdp_test_" + secrets.token_urlsafe(32)
        secrets_out.append(secret)
        users.append(
            {"id": user_id, "email": f"bench{i}@example.com", "password_hash": "-", "is_admin": False}
        )
        subscriptions.append(
            {
                "id": new_id("sub"),
                "user_id": user_id,
                "stripe_customer_id": f"cus_bench{i}",
                "stripe_subscription_id": f"sub_bench{i}",
                "status": "active",
                "price_id": "price_payg",
                "plan_nickname": "Pay as you go",
                "product_name": "My API",
                "status_changed_at": now,
            }
        )
        keys.append(
            {
                "id": new_id("key"),
                "user_id": user_id,
                "name": "bench",
                "prefix": secret[:16],
                "key_hash": keyed_hash(SECRET_KEY, secret),
                "mode": "test",
            }
        )
    async with engine.begin() as conn:
        await conn.execute(insert(User), users)
        await conn.execute(insert(Subscription), subscriptions)
        await conn.execute(insert(ApiKey), keys)
    await engine.dispose()
    return secrets_out


def bench_settings(url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="test",
        database_url=url,
        secret_key=SECRET_KEY,
        run_migrations_on_start=False,
        log_level="WARNING",
    )


async def in_process(url: str, key_secrets: list[str], workdir: Path) -> list[Row]:
    """KeyVerifier.verify() called directly, as the route does: every key once (cold), then again (warm)."""
    database = Database(create_engine(url))
    verifier = KeyVerifier(bench_settings(url), database)
    rows = []
    try:
        order = random.sample(key_secrets, len(key_secrets))
        for figure, calls in (
            ("in-process, cache cold (1 SELECT)", order),
            ("in-process, cache warm (hit)", order * WARM_ROUNDS),
        ):
            latencies, invalid, stopped = [], 0, ""
            started = time.perf_counter()
            for key in calls:
                t0 = time.perf_counter()
                result = await verifier.verify(key)
                latencies.append(time.perf_counter() - t0)
                invalid += not result.valid
                if t0 - started > PHASE_TIME_LIMIT_S:
                    stopped = "; stopped at time limit"
                    break
            wall = time.perf_counter() - started
            note = f"{invalid} invalid{stopped}"
            if "warm" in figure:
                p99_ms = percentile(sorted(latencies), 0.99) * 1000
                met = "met" if p99_ms <= P99_TARGET_MS else "MISSED"
                note += f"; p99 <= {P99_TARGET_MS} ms target {met}"
            rows.append(row(figure, latencies, wall, note))
        rows[-1]["note"] += f"; {verifier.cache.hits:,} hits / {verifier.cache.misses:,} misses in all"
    finally:
        await database.dispose()
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "ADMIN_BOOTSTRAP_TOKEN": ADMIN_TOKEN,
        "RUN_MIGRATIONS_ON_START": "false",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "portal_api.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with log.open("wb") as log_file:  # a file, not a pipe: an unread pipe could fill up and stall the server
        return subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


async def wait_until_up(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                output = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"uvicorn exited with {server.returncode}: {output}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"uvicorn did not answer /healthz within {SERVER_START_TIMEOUT_S} s")


async def load_test(base_url: str, keys: list[str], clients: int) -> tuple[list[float], float, int, bool]:
    """Send one request per entry of `keys` from `clients` concurrent clients; latencies and wall time."""
    latencies: list[float] = []
    failures = 0
    next_index = 0
    started = time.perf_counter()
    stopped = False

    async def client_loop() -> None:
        nonlocal next_index, failures, stopped
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
            while next_index < len(keys):
                if time.perf_counter() - started > PHASE_TIME_LIMIT_S:
                    stopped = True
                    return
                key = keys[next_index]
                next_index += 1
                t0 = time.perf_counter()
                response = await client.post("/v1/keys/verify", json={"key": key})
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200 or response.json()["valid"] is not True:
                    failures += 1

    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return latencies, time.perf_counter() - started, failures, stopped


async def over_http(url: str, key_secrets: list[str], workdir: Path) -> list[Row]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = workdir / "uvicorn.log"
    server = start_server(url, port, log)
    rows = []
    try:
        await wait_until_up(base_url, server, log)
        cold = random.sample(key_secrets, min(HTTP_COLD_REQUESTS, len(key_secrets)))
        warm = [random.choice(key_secrets) for _ in range(HTTP_WARM_REQUESTS)]
        phases = [
            ("HTTP loopback, server cache cold", cold, HTTP_CLIENTS),
            ("HTTP loopback, cache warm", warm, HTTP_CLIENTS),
            ("HTTP loopback, cache warm, 1 client", warm[:HTTP_SINGLE_CLIENT_REQUESTS], 1),
        ]
        for figure, keys, clients in phases:
            latencies, wall, failures, stopped = await load_test(base_url, keys, clients)
            note = f"{clients} client{'s' if clients > 1 else ''}; {failures} not valid/200"
            rows.append(row(figure, latencies, wall, note + ("; stopped at time limit" if stopped else "")))
    finally:
        stop_server(server)
    return rows


async def main() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        key_secrets = await build_database(url)
        setup = time.perf_counter() - started
        rows = [
            {
                "figure": f"setup: {N_KEYS:,} users + subscriptions + keys",
                "requests": None,
                "p50 ms": None,
                "p99 ms": None,
                "per second": None,
                "note": f"{setup:.1f} s (SQLite, temp file)",
            }
        ]
        steps: list[Callable[[str, list[str], Path], Awaitable[list[Row]]]] = [in_process, over_http]
        for step in steps:
            rows += await step(url, key_secrets, Path(tmp))
        return rows


if __name__ == "__main__":
    from run_all import print_table  # bench/ is sys.path[0] when this file is run directly

    print_table(asyncio.run(main()))
