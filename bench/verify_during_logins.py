"""Figure: POST /v1/keys/verify (warm key) under wrk, idle and while logins run at the production argon2 cost.

The issue's goal: logins in parallel with verification leave verify p99 within 2x of its idle value. Argon2
hashing runs in worker threads so it should not stall the event loop that answers verifications; this row
shows what is left of that on this machine, where the server, wrk and the login clients share the CPUs.

Setup: a temporary SQLite file, migrated and seeded with one admin API token with the `verify` scope, one
customer with an active subscription row and an API key, and LOGIN_USERS accounts whose password hashes use
the Settings defaults (argon2id, time cost 3, 64 MiB). The API runs as a real uvicorn process on 127.0.0.1
with those argon2 settings and no background jobs; the Stripe emulator is not needed for verification.

Phases: wrk warms the key into the cache, then measures VERIFY_SECONDS idle; then LOGIN_CONCURRENCY httpx
clients log in back to back (POST /v1/auth/login) while wrk measures VERIFY_SECONDS again, and keep going
until at least MIN_LOGINS logins are done. Rows: verify idle, verify during logins (with the p99 ratio
against the <= 2x goal and the login rate inside the wrk window), and the login load itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from verify_keys import free_port, stop_server, wait_until_up

from portal_api.accounts.models import User
from portal_api.admin.tokens import create_admin_token
from portal_api.billing.models import Subscription
from portal_api.config import Settings
from portal_api.db import Database, create_engine, utcnow
from portal_api.keys.models import ApiKey
from portal_api.keys.service import hash_key
from portal_api.migrate import upgrade_database
from portal_api.security import Passwords

REPO = Path(__file__).resolve().parents[1]
SECRET_KEY = "bench-logins-secret-key-" + "v" * 32
VERIFY_TOKEN = "mdp_admin_" + "v" * 43
CUSTOMER_KEY = "mdp_test_" + "k" * 43
PASSWORD = "bench-login-password-1"
LOGIN_USERS = 8
LOGIN_CONCURRENCY = 8
MIN_LOGINS = 40
LOGIN_TIME_LIMIT_S = 90.0  # the login load stops here even if MIN_LOGINS were not reached
WARMUP_SECONDS = 2
VERIFY_SECONDS = 10
WRK_THREADS = 1
WRK_CONNECTIONS = 4
WRK_EXTRA_TIMEOUT_S = 30.0  # beyond its -d duration, before wrk is killed
INSTALL_TIMEOUT_S = 300.0
P99_RATIO_GOAL = 2.0

Row = dict[str, Any]

# wrk's Lua hooks: a POST with a JSON body and headers, and one JSON line with the figures at the end.
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {authorization}

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "errors": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def production_argon2() -> dict[str, Any]:
    """The argon2 cost production runs with: the Settings defaults, whatever this shell's environment says."""
    fields = Settings.model_fields
    return {name: fields[name].default for name in ("argon2_time_cost", "argon2_memory_cost")}


def seed_settings(url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="test",
        database_url=url,
        secret_key=SECRET_KEY,
        log_level="WARNING",
        **production_argon2(),
    )


async def build_database(url: str) -> None:
    """Migrate; the verify-scoped admin token, one customer key with an active subscription, login users."""
    settings = seed_settings(url)
    password_hash = Passwords(settings).hash_now(PASSWORD)  # one hash (own salt) shared by the login users
    database = Database(create_engine(url))
    try:
        await upgrade_database(database.write_engine())
        async with database.write() as session:
            await create_admin_token(
                session,
                settings,
                name="bench gateway",
                created_by_user_id=None,
                scopes=["verify"],
                secret=VERIFY_TOKEN,
            )
            customer = User(email="customer@example.com", password_hash="-")
            session.add(customer)
            for n in range(LOGIN_USERS):
                session.add(User(email=f"login{n}@example.com", password_hash=password_hash))
            await session.flush()
            session.add(
                Subscription(
                    user_id=customer.id,
                    stripe_customer_id="cus_bench",
                    stripe_subscription_id="sub_bench",
                    status="active",
                    price_id="price_payg",
                    plan_nickname="Pay as you go",
                    product_name="My API",
                    status_changed_at=utcnow(),
                )
            )
            session.add(
                ApiKey(
                    user_id=customer.id,
                    name="bench",
                    prefix=CUSTOMER_KEY[:16],
                    key_hash=hash_key(settings, CUSTOMER_KEY),
                    mode="test",
                )
            )
    finally:
        await database.dispose()


def ensure_wrk() -> str:
    """wrk's path, installing Debian's package (scripts/install-wrk.sh) when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["bash", str(REPO / "scripts" / "install-wrk.sh")], check=True, timeout=INSTALL_TIMEOUT_S)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and scripts/install-wrk.sh did not install it")
    return found


def start_server(url: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    argon2 = production_argon2()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "RUN_MIGRATIONS_ON_START": "false",
        "RUN_JOBS_IN_PROCESS": "false",
        "ARGON2_TIME_COST": str(argon2["argon2_time_cost"]),
        "ARGON2_MEMORY_COST": str(argon2["argon2_memory_cost"]),
        # Rate limits stay on (their cost is part of the path) but far above what one client IP sends here.
        "RATE_LIMIT_LOGIN": "1000000/minute",
        "RATE_LIMIT_VERIFY": "10000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "portal_api.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with (workdir / "uvicorn.log").open("wb") as log_file:  # a file: an unread pipe could stall the server
        return subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir)


async def run_wrk(wrk: str, lua: Path, base_url: str, seconds: int) -> dict[str, Any]:
    """One wrk run on POST /v1/keys/verify; the figures its done() hook printed."""
    process = await asyncio.create_subprocess_exec(
        wrk,
        f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(lua),
        f"{base_url}/v1/keys/verify",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=seconds + WRK_EXTRA_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await asyncio.wait_for(process.wait(), timeout=10)
        raise RuntimeError(f"wrk did not finish within {seconds + WRK_EXTRA_TIMEOUT_S:.0f} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited with {process.returncode}: {err.decode(errors='replace')[-500:]}")
    figures = [line for line in out.decode().splitlines() if line.startswith("{")]
    if not figures:
        raise RuntimeError(f"wrk printed no figures: {out.decode(errors='replace')[-500:]}")
    result: dict[str, Any] = json.loads(figures[-1])
    return result


class Logins:
    """The login load: LOGIN_CONCURRENCY clients logging in back to back until told to stop."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.finished: list[tuple[float, float]] = []  # (end time, latency) of each successful login
        self.errors = 0
        self.stop = asyncio.Event()
        self.started = 0.0
        self.ended = 0.0

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=LOGIN_CONCURRENCY, max_keepalive_connections=LOGIN_CONCURRENCY)
        async with httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=30) as client:
            self.started = time.perf_counter()
            await asyncio.gather(*(self.client_loop(client, n) for n in range(LOGIN_CONCURRENCY)))
            self.ended = time.perf_counter()

    async def client_loop(self, client: httpx.AsyncClient, n: int) -> None:
        body = {"email": f"login{n % LOGIN_USERS}@example.com", "password": PASSWORD}
        while not self.stop.is_set() and time.perf_counter() - self.started < LOGIN_TIME_LIMIT_S:
            t0 = time.perf_counter()
            try:
                response = await client.post("/v1/auth/login", json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            t1 = time.perf_counter()
            if ok:
                self.finished.append((t1, t1 - t0))
            else:
                self.errors += 1

    def done_between(self, start: float, end: float) -> int:
        return sum(1 for finished, _ in self.finished if start <= finished <= end)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def verify_row(figure: str, wrk: dict[str, Any]) -> Row:
    seconds = wrk["duration_us"] / 1e6
    return {
        "figure": figure,
        "requests": wrk["requests"],
        "req/s": round(wrk["requests"] / seconds) if seconds else None,
        "p50 ms": wrk["p50_us"] / 1000,
        "p99 ms": wrk["p99_us"] / 1000,
        "errors": wrk["errors"],
        "p99 / idle": None,
        "logins/s": None,
        "note": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{VERIFY_SECONDS}s; "
        f"max {wrk['max_us'] / 1000:.1f} ms",
    }


async def check_once(base_url: str) -> None:
    """The seeded key verifies and the seeded login works before anything is measured."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {VERIFY_TOKEN}"}
        response = await client.post("/v1/keys/verify", json={"key": CUSTOMER_KEY}, headers=headers)
        if response.status_code != 200 or response.json().get("valid") is not True:
            raise RuntimeError(
                f"verify of the seeded key failed: {response.status_code} {response.text[:300]}"
            )
        login = {"email": "login0@example.com", "password": PASSWORD}
        response = await client.post("/v1/auth/login", json=login)
        if response.status_code != 200:
            raise RuntimeError(f"login of a seeded user failed: {response.status_code} {response.text[:300]}")


async def measure(wrk: str, url: str, workdir: Path) -> list[Row]:
    lua = workdir / "verify.lua"
    body = json.dumps({"key": CUSTOMER_KEY})
    lua.write_text(
        WRK_SCRIPT.format(body=json.dumps(body), authorization=json.dumps(f"Bearer {VERIFY_TOKEN}"))
    )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = start_server(url, port, workdir)
    try:
        await wait_until_up(base_url, server, workdir / "uvicorn.log")
        await check_once(base_url)
        await run_wrk(wrk, lua, base_url, WARMUP_SECONDS)  # key and token caches warm, connections made
        idle = await run_wrk(wrk, lua, base_url, VERIFY_SECONDS)

        logins = Logins(base_url)
        load = asyncio.create_task(logins.run())
        await asyncio.sleep(0.5)  # every login client has a request in flight before wrk starts
        wrk_started = time.perf_counter()
        during = await run_wrk(wrk, lua, base_url, VERIFY_SECONDS)
        wrk_ended = time.perf_counter()
        deadline = wrk_ended + LOGIN_TIME_LIMIT_S
        while len(logins.finished) < MIN_LOGINS and not load.done() and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        logins.stop.set()
        await asyncio.wait_for(load, timeout=60)
    finally:
        stop_server(server)

    rows = [
        verify_row("verify (warm key), idle", idle),
        verify_row("verify (warm key), during logins", during),
    ]
    ratio = during["p99_us"] / idle["p99_us"] if idle["p99_us"] else None
    in_window = logins.done_between(wrk_started, wrk_ended)
    met = "met" if ratio is not None and ratio <= P99_RATIO_GOAL else "MISSED"
    rows[1]["p99 / idle"] = ratio
    rows[1]["logins/s"] = in_window / (wrk_ended - wrk_started)
    rows[1]["note"] += (
        f"; {in_window} logins inside the wrk window; goal p99 <= {P99_RATIO_GOAL:g}x idle: {met}"
    )
    latencies = sorted(latency for _, latency in logins.finished)
    wall = logins.ended - logins.started
    argon2 = production_argon2()
    rows.append(
        {
            "figure": f"logins, {LOGIN_CONCURRENCY} at a time",
            "requests": len(latencies),
            "req/s": None,
            "p50 ms": percentile(latencies, 0.50) * 1000 if latencies else None,
            "p99 ms": percentile(latencies, 0.99) * 1000 if latencies else None,
            "errors": logins.errors,
            "p99 / idle": None,
            "logins/s": len(latencies) / wall if wall else None,
            "note": f"argon2id t={argon2['argon2_time_cost']}, {argon2['argon2_memory_cost'] // 1024} MiB; "
            f"{wall:.1f} s of login load (from 0.5 s before wrk to the last login)",
        }
    )
    if logins.errors or len(latencies) < MIN_LOGINS:
        raise RuntimeError(f"login load: {len(latencies)} logins, {logins.errors} errors: {rows}")
    return rows


async def main() -> list[Row]:
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-verify-logins-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        await build_database(url)
        return await measure(wrk, url, workdir)


if __name__ == "__main__":
    from run_all import print_table  # bench/ is sys.path[0] when this file is run directly

    print_table(asyncio.run(main()))
