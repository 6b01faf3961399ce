"""Usage ingest throughput: batches through POST /v1/usage/events and the Moesif collector, dedupe on.

For SQLite (temp file) and PostgreSQL (a temp database on 127.0.0.1:5432, skipped if unreachable): the real
app in-process over ASGI (httpx.ASGITransport, no sockets), 200 customers with API keys, two active meters
(an event count filtered by route template and status class, and a sum of `metadata.tokens`), so every event
is hashed, attributed, filtered and rolled up. Request bodies are encoded before the clock starts (the
client's JSON encoding is not measured; the server's decoding, validation, inserts and rollups are).

Rows: fresh events via /v1/usage/events (1,000 per batch), the same batches resent (all duplicates), and
Moesif event batches via /collector/v1/events/batch gzipped like the SDKs send them.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import random
import secrets
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from portal_api.accounts.models import User
from portal_api.config import Settings
from portal_api.db import create_engine
from portal_api.keys.models import ApiKey
from portal_api.keys.service import hash_key
from portal_api.main import create_app, services_of
from portal_api.metering.collector.tokens import create_token
from portal_api.metering.models import Meter
from portal_api.migrate import upgrade_database

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
ADMIN_TOKEN = "mdp_admin_" + "b" * 43
CUSTOMERS = 200
BATCH = 1_000
FRESH_EVENTS = 100_000
MOESIF_EVENTS = 50_000
RESENT_BATCHES = 20
TIME_LIMIT_SECONDS = 60


def bench_settings(url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="test",
        database_url=url,
        run_migrations_on_start=False,
        secret_key="bench-secret-key-" + "x" * 32,
        log_level="WARNING",
        log_json=False,
        admin_bootstrap_token=ADMIN_TOKEN,
        run_jobs_in_process=False,
        stripe_api_base="http://127.0.0.1:9",  # never called: meters are written directly
    )


@asynccontextmanager
async def temp_database(backend: str) -> AsyncIterator[str | None]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        return
    name = f"mdp_bench_{secrets.token_hex(5)}"
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


async def seed(app: Any, settings: Settings) -> tuple[list[str], str]:
    """Customers with one key each, two meters, a collector token; returns (key secrets, collector token)."""
    keys: list[str] = []
    async with services_of(app).database.write() as session:
        for n in range(CUSTOMERS):
            user = User(email=f"customer{n}@example.com", password_hash="x")
            session.add(user)
            await session.flush()
            secret = f"mdp_test_{secrets.token_urlsafe(32)}"
            session.add(
                ApiKey(
                    user_id=user.id,
                    name="k",
                    prefix=secret[:16],
                    key_hash=hash_key(settings, secret),
                    mode="test",
                )
            )
            keys.append(secret)
        for name, filters, metric in (
            (
                "Item calls",
                {"and": [{"field": "route", "value": "/v1/items/{id}"}, {"field": "status", "value": "2xx"}]},
                {"type": "event_count"},
            ),
            ("Tokens", None, {"type": "sum", "field": "metadata.tokens"}),
        ):
            session.add(
                Meter(
                    name=name,
                    stripe_product_id="prod_bench",
                    stripe_price_id="price_bench",
                    filters=json.dumps(filters),
                    metric=json.dumps(metric),
                    charge_by="sum_during_period",
                )
            )
        _, collector = await create_token(session, settings, name="bench", created_by_user_id=None)
    return keys, collector


def usage_batches(keys: list[str], total: int, rng: random.Random) -> list[bytes]:
    now = datetime.now(UTC)
    bodies = []
    for start in range(0, total, BATCH):
        events = [
            {
                "id": uuid.uuid4().hex,
                "key": rng.choice(keys),
                "route": f"/v1/items/{rng.randrange(1000)}" if rng.random() < 0.8 else "/v1/orders",
                "method": "GET",
                "status": 200 if rng.random() < 0.9 else 404,
                "timestamp": (now - timedelta(seconds=rng.randrange(7200))).isoformat(),
                "properties": {"tokens": rng.randrange(1, 500)},
            }
            for _ in range(min(BATCH, total - start))
        ]
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


def moesif_batches(keys: list[str], total: int, rng: random.Random) -> list[bytes]:
    now = datetime.now(UTC).replace(tzinfo=None)
    bodies = []
    for start in range(0, total, BATCH):
        events = []
        for _ in range(min(BATCH, total - start)):
            when = (now - timedelta(seconds=rng.randrange(7200))).isoformat(timespec="milliseconds")
            events.append(
                {
                    "request": {
                        "time": when,
                        "uri": f"https://api.example.com/v1/items/{rng.randrange(1000)}?page=2",
                        "verb": "GET",
                        "ip_address": "203.0.113.7",
                        "headers": {
                            "host": "api.example.com",
                            "x-api-key": rng.choice(keys),
                            "accept": "*/*",
                        },
                        "body": None,
                    },
                    "response": {
                        "time": when,
                        "status": 200,
                        "headers": {"content-type": "application/json"},
                    },
                    "transaction_id": str(uuid.uuid4()),
                    "metadata": {"tokens": rng.randrange(1, 500)},
                    "direction": "Incoming",
                    "weight": 1,
                }
            )
        bodies.append(gzip.compress(json.dumps(events).encode()))
    return bodies


async def post_all(
    client: httpx.AsyncClient, path: str, bodies: list[bytes], headers: dict[str, str], senders: int = 1
) -> tuple[int, float]:
    """POST every body, `senders` requests in flight at a time; returns (batches sent, seconds)."""
    started = time.perf_counter()
    queue = list(reversed(bodies))
    sent = 0

    async def sender() -> None:
        nonlocal sent
        while queue and time.perf_counter() - started < TIME_LIMIT_SECONDS:
            body = queue.pop()
            response = await client.post(path, content=body, headers=headers)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
            sent += 1

    await asyncio.gather(*(sender() for _ in range(senders)))
    return sent, time.perf_counter() - started


async def measure(backend: str) -> list[dict[str, Any]]:
    async with temp_database(backend) as url:
        if url is None:
            return [
                {
                    "figure": f"ingest ({backend})",
                    "events": None,
                    "seconds": None,
                    "events/s": None,
                    "note": "PostgreSQL unreachable",
                }
            ]
        engine = create_engine(url)
        await upgrade_database(engine)
        await engine.dispose()
        settings = bench_settings(url)
        app = create_app(settings)
        rows = []
        async with app.router.lifespan_context(app):
            keys, collector = await seed(app, settings)
            rng = random.Random(7)
            fresh = usage_batches(keys, FRESH_EVENTS + BATCH, rng)
            concurrent = usage_batches(keys, FRESH_EVENTS, rng)
            moesif = moesif_batches(keys, MOESIF_EVENTS + BATCH, rng)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
                usage_headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
                moesif_headers = {
                    "X-Moesif-Application-Id": collector,
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                }
                await post_all(client, "/v1/usage/events", fresh[:1], usage_headers)  # warm-up
                await post_all(client, "/collector/v1/events/batch", moesif[:1], moesif_headers)
                for figure, path, bodies, headers, senders in (
                    ("/v1/usage/events, new events", "/v1/usage/events", fresh[1:], usage_headers, 1),
                    ("/v1/usage/events, new, 4 senders", "/v1/usage/events", concurrent, usage_headers, 4),
                    (
                        "/v1/usage/events, all duplicates",
                        "/v1/usage/events",
                        fresh[1 : 1 + RESENT_BATCHES],
                        usage_headers,
                        1,
                    ),
                    (
                        "/collector/v1/events/batch (gzip), new",
                        "/collector/v1/events/batch",
                        moesif[1:],
                        moesif_headers,
                        1,
                    ),
                ):
                    batches, seconds = await post_all(client, path, bodies, headers, senders)
                    events = batches * BATCH
                    rows.append(
                        {
                            "figure": f"{figure} ({backend})",
                            "events": events,
                            "seconds": round(seconds, 2),
                            "events/s": round(events / seconds),
                            "note": f"{BATCH:,}/batch, {CUSTOMERS} customers, 2 meters",
                        }
                    )
        return rows


async def main() -> list[dict[str, Any]]:
    return [row for backend in ("sqlite", "postgresql") for row in await measure(backend)]


if __name__ == "__main__":
    from run_all import print_table

    print_table(asyncio.run(main()))
