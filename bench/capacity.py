"""Server capacity of the two hot paths under wrk, beside baselines measured in the same run.

wrk (C, `-t2 -c32`, 10 s a row) drives the API as a real uvicorn process (one worker) on SQLite (temp file)
and PostgreSQL (a temp database on 127.0.0.1:5432; skipped when unreachable):
- `POST /v1/keys/verify` with one warm key, beside a bare ASGI app under the same uvicorn;
- `POST /v1/usage/events`, 100 new events a request (unique ids made by wrk's Lua; 200 customers with keys,
  two meters: every event is attributed, filtered and rolled up), beside raw inserts of the same rows
  (SQLite: one executemany; PostgreSQL: COPY) with no API in between;
- the Moesif collector (`/collector/v1/events/batch`, 100 events a request), beside `/v1/usage/events`.
Goals (issue "Scale-out and hot paths"): verify >= 30% of the bare app and p99 <= 5 ms on both databases;
ingest >= 60K events/s on SQLite and >= 100K on PostgreSQL; the collector >= 70% of /v1/usage/events. Every
ingest row is checked afterwards: the database holds exactly 100 events per acknowledged request. The
machine is shared (wrk and the server use the same CPUs): read the ratios, the figures move from run to run.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _wrk import ensure_wrk, free_port, lua_string, run_wrk, start_uvicorn, stop, wait_up
from sqlalchemy import func, select, text

from portal_api.accounts.models import User
from portal_api.admin.tokens import create_admin_token
from portal_api.billing.models import Subscription
from portal_api.config import Settings
from portal_api.db import Database, create_engine, utcnow
from portal_api.keys.models import ApiKey
from portal_api.keys.service import hash_key
from portal_api.metering.collector.tokens import create_token
from portal_api.metering.models import Meter, UsageEvent
from portal_api.migrate import upgrade_database

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
SECRET_KEY = "bench-capacity-secret-" + "c" * 32
GATEWAY_TOKEN = "mdp_admin_" + "w" * 43
CUSTOMERS = 200
EVENTS_PER_REQUEST = 100
SECONDS = 10
RAW_ROWS = 200_000
CONNECTIONS = 32  # wrk's -c (with -t2), as the issue measured
Row = dict[str, Any]
EVENT_COLUMNS = (
    "dedupe_key",
    "source",
    "occurred_at",
    "received_at",
    "user_id",
    "attributed_by",
    "api_key_id",
    "external_user_id",
    "company_id",
    "session_key",
    "method",
    "route",
    "status",
    "weight",
    "payload",
)

VERIFY_LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {authorization}
"""

# Each request carries EVENTS_PER_REQUEST new events: ids from the thread number and a counter.
INGEST_LUA = """
local keys = {keys}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers[{header_name}] = {header_value}
function request()
  counter = counter + 1
  local parts = {{}}
  for i = 1, {per_request} do
    local key = keys[((counter * {per_request} + i) % #keys) + 1]
    parts[i] = {make_event}
  end
  return wrk.format(nil, nil, nil, {prefix} .. table.concat(parts, ",") .. {suffix})
end
"""


def settings_for(url: str) -> Settings:
    return Settings(_env_file=None, environment="test", database_url=url, secret_key=SECRET_KEY)  # type: ignore[call-arg]


@asynccontextmanager
async def temp_database(backend: str, folder: Path) -> AsyncIterator[str | None]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'capacity.db'}"
        return
    name = f"mdp_capacity_{secrets.token_hex(5)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        await admin.dispose()
        yield None
        return
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def seed(url: str) -> tuple[list[str], str]:
    """Migrate; a gateway token (verify + ingest), customers with a key and an active subscription, two
    meters, a collector token. Returns (key secrets, collector token)."""
    settings = settings_for(url)
    database = Database(create_engine(url))
    keys: list[str] = []
    try:
        await upgrade_database(database.write_engine())
        async with database.write() as session:
            await create_admin_token(
                session,
                settings,
                name="gw",
                created_by_user_id=None,
                scopes=["verify", "ingest"],
                secret=GATEWAY_TOKEN,
            )
            for n in range(CUSTOMERS):
                user = User(email=f"customer{n}@example.com", password_hash="-")
                session.add(user)
                await session.flush()
                secret = "mdp_test_" + secrets.token_urlsafe(32)
                session.add(
                    ApiKey(
                        user_id=user.id,
                        name="k",
                        prefix=secret[:16],
                        key_hash=hash_key(settings, secret),
                        mode="test",
                    )
                )
                session.add(
                    Subscription(
                        user_id=user.id,
                        stripe_customer_id=f"cus_{n}",
                        stripe_subscription_id=f"sub_{n}",
                        status="active",
                        price_id="price_bench",
                        status_changed_at=utcnow(),
                    )
                )
                keys.append(secret)
            for name, filters, metric in (
                ("Item calls", {"field": "route", "value": "/v1/items/{id}"}, {"type": "event_count"}),
                ("Tokens", None, {"type": "sum", "field": "metadata.tokens"}),
            ):
                session.add(
                    Meter(
                        name=name,
                        stripe_product_id="prod_bench",
                        stripe_price_id=f"price_{name[:4].lower()}",
                        filters=json.dumps(filters),
                        metric=json.dumps(metric),
                        charge_by="sum_during_period",
                    )
                )
            _, collector = await create_token(session, settings, name="bench", created_by_user_id=None)
    finally:
        await database.dispose()
    return keys, collector


async def count_events(url: str) -> int:
    database = Database(create_engine(url))
    try:
        async with database.read() as session:
            return int(await session.scalar(select(func.count()).select_from(UsageEvent)) or 0)
    finally:
        await database.dispose()


def usage_lua(keys: list[str], run: str) -> str:
    moment = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    event = (
        '{"id":"%s-%d-%d-%d","key":"%s","route":"/v1/items/%d","method":"GET","status":200,'
        f'"timestamp":"{moment}","properties":{{"tokens":7}}}}'
    )
    return INGEST_LUA.format(
        keys="{" + ",".join(lua_string(k) for k in keys) + "}",
        header_name=lua_string("Authorization"),
        header_value=lua_string(f"Bearer {GATEWAY_TOKEN}"),
        per_request=EVENTS_PER_REQUEST,
        make_event=f"string.format({lua_string(event)}, {lua_string(run)}, tid, counter, i, key, i % 97)",
        prefix=lua_string('{"events":['),
        suffix=lua_string("]}"),
    )


def moesif_lua(keys: list[str], collector: str, run: str) -> str:
    moment = (
        (datetime.now(UTC) - timedelta(minutes=5)).replace(tzinfo=None).isoformat(timespec="milliseconds")
    )
    event = (
        '{"request":{"time":"' + moment + '","uri":"https://api.example.com/v1/items/%d","verb":"GET",'
        '"headers":{"x-api-key":"%s"}},"response":{"time":"' + moment + '","status":200,"headers":{}},'
        '"transaction_id":"%s-%d-%d-%d","metadata":{"tokens":7}}'
    )
    return INGEST_LUA.format(
        keys="{" + ",".join(lua_string(k) for k in keys) + "}",
        header_name=lua_string("X-Moesif-Application-Id"),
        header_value=lua_string(collector),
        per_request=EVENTS_PER_REQUEST,
        make_event=f"string.format({lua_string(event)}, i % 97, key, {lua_string(run)}, tid, counter, i)",
        prefix=lua_string("["),
        suffix=lua_string("]"),
    )


async def raw_sqlite_inserts(folder: Path) -> float:
    """Rows/s of one executemany of usage_events rows into a migrated SQLite file, no API in between."""
    path = folder / "raw.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade_database(engine)
    await engine.dispose()
    rows = [
        (
            f"raw-{n}",
            "api",
            "2026-12-01 10:00:00.000000",
            "2026-12-01 10:00:01.000000",
            f"usr_{n % 200}",
            "api_key",
            None,
            None,
            None,
            None,
            "GET",
            f"/v1/items/{n % 97}",
            200,
            1,
            '{"tokens": 7}',
        )
        for n in range(RAW_ROWS)
    ]
    columns = ", ".join(EVENT_COLUMNS)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        started = time.perf_counter()
        conn.executemany(f"INSERT INTO usage_events ({columns}) VALUES ({', '.join('?' * 15)})", rows)
        conn.commit()
        return RAW_ROWS / (time.perf_counter() - started)


async def raw_postgres_copy(url: str) -> float:
    """Rows/s of COPY of usage_events rows into the temp database, no API in between."""
    import asyncpg

    dsn = "postgresql://" + url.partition("://")[2]
    now = datetime.now(UTC)
    records = [
        (
            f"raw-{n}",
            "api",
            now,
            now,
            f"usr_{n % 200}",
            "api_key",
            None,
            None,
            None,
            None,
            "GET",
            f"/v1/items/{n % 97}",
            200,
            1,
            '{"tokens": 7}',
        )
        for n in range(RAW_ROWS)
    ]
    columns = [
        "dedupe_key",
        "source",
        "occurred_at",
        "received_at",
        "user_id",
        "attributed_by",
        "api_key_id",
        "external_user_id",
        "company_id",
        "session_key",
        "method",
        "route",
        "status",
        "weight",
        "payload",
    ]
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table("usage_events", records=records, columns=columns)
        rate = RAW_ROWS / (time.perf_counter() - started)
        await conn.execute("DELETE FROM usage_events WHERE dedupe_key LIKE 'raw-%'")
        return rate
    finally:
        await conn.close()


def row(
    figure: str,
    result: dict[str, Any],
    *,
    per_request: int = 1,
    baseline: float | None = None,
    goal: str = "",
) -> Row:
    rate = result["per_second"] * per_request
    return {
        "figure": figure,
        "per second": rate,
        "p99 ms": result["p99_us"] / 1000,
        "errors": result["errors"],
        "of baseline": rate / baseline if baseline else None,
        "goal": goal,
    }


async def bare_baseline(wrk: str, folder: Path) -> dict[str, Any]:
    port = free_port()
    server = start_uvicorn("_bare_app:app", port, {}, folder, factory=False)
    try:
        await wait_up(f"http://127.0.0.1:{port}/", server, folder, port)
        lua = VERIFY_LUA.format(body=lua_string('{"key": "x"}'), authorization=lua_string("Bearer x"))
        return await run_wrk(
            wrk, lua, f"http://127.0.0.1:{port}/v1/keys/verify", seconds=SECONDS, workdir=folder
        )
    finally:
        stop(server)


async def measure_backend(backend: str, wrk: str, folder: Path, bare: dict[str, Any]) -> list[Row]:
    async with temp_database(backend, folder) as url:
        if url is None:
            return [
                {
                    "figure": f"{backend}: PostgreSQL unreachable, skipped",
                    "per second": None,
                    "p99 ms": None,
                    "errors": None,
                    "of baseline": None,
                    "goal": "",
                }
            ]
        keys, collector = await seed(url)
        port = free_port()
        env = {
            "ENVIRONMENT": "test",
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET_KEY,
            "RUN_MIGRATIONS_ON_START": "false",
            "RUN_JOBS_IN_PROCESS": "false",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
        }
        server = start_uvicorn("portal_api.main:create_app", port, env, folder, factory=True)
        base = f"http://127.0.0.1:{port}"
        rows: list[Row] = []
        try:
            await wait_up(f"{base}/healthz", server, folder, port)
            verify = VERIFY_LUA.format(
                body=lua_string(json.dumps({"key": keys[0]})),
                authorization=lua_string(f"Bearer {GATEWAY_TOKEN}"),
            )
            await run_wrk(wrk, verify, f"{base}/v1/keys/verify", seconds=2, workdir=folder)  # warm
            result = await run_wrk(wrk, verify, f"{base}/v1/keys/verify", seconds=SECONDS, workdir=folder)
            rows.append(
                row(
                    f"verify, warm key ({backend})",
                    result,
                    baseline=bare["per_second"],
                    goal=">= 30% of bare, p99 <= 5 ms",
                )
            )
            raw = await raw_sqlite_inserts(folder) if backend == "sqlite" else await raw_postgres_copy(url)
            raw_how = "executemany" if backend == "sqlite" else "COPY"
            rows.append(
                {
                    "figure": f"raw inserts of event rows ({backend}, {raw_how})",
                    "per second": raw,
                    "p99 ms": None,
                    "errors": None,
                    "of baseline": None,
                    "goal": "baseline",
                }
            )
            before = await count_events(url)
            ingest = await run_wrk(
                wrk,
                usage_lua(keys, f"u{secrets.token_hex(3)}"),
                f"{base}/v1/usage/events",
                seconds=SECONDS,
                workdir=folder,
            )
            stored = await count_events(url) - before
            goal = ">= 60K events/s" if backend == "sqlite" else ">= 100K events/s"
            rows.append(
                row(
                    f"/v1/usage/events, {EVENTS_PER_REQUEST} new events a request ({backend})",
                    ingest,
                    per_request=EVENTS_PER_REQUEST,
                    baseline=raw,
                    goal=goal,
                )
            )
            # Requests still in flight when wrk stops are answered after it counted: up to one per connection.
            acknowledged = (ingest["requests"] - ingest["status_errors"]) * EVENTS_PER_REQUEST
            if not acknowledged <= stored <= (ingest["requests"] + CONNECTIONS) * EVENTS_PER_REQUEST:
                raise RuntimeError(f"{backend}: stored {stored} events for {ingest['requests']} requests")
            usage_rate = ingest["per_second"] * EVENTS_PER_REQUEST
            moesif = await run_wrk(
                wrk,
                moesif_lua(keys, collector, f"m{secrets.token_hex(3)}"),
                f"{base}/collector/v1/events/batch",
                seconds=SECONDS,
                workdir=folder,
            )
            rows.append(
                row(
                    f"Moesif collector batch, {EVENTS_PER_REQUEST} events ({backend})",
                    moesif,
                    per_request=EVENTS_PER_REQUEST,
                    baseline=usage_rate,
                    goal=">= 70% of /v1/usage/events",
                )
            )
        finally:
            stop(server)
        return rows


async def main() -> list[Row]:
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        folder = Path(tmp)
        bare = await bare_baseline(wrk, folder)
        rows = [row("bare ASGI app (same uvicorn)", bare, goal="baseline")]
        for backend in ("sqlite", "postgresql"):
            sub = folder / backend
            sub.mkdir()
            rows += await measure_backend(backend, wrk, sub, bare)
        return rows


if __name__ == "__main__":
    from run_all import print_table

    print_table(asyncio.run(main()))
