"""Usage aggregation for one customer and one billing period over a 10M-event dataset (SQLite and PostgreSQL).

What is built, honestly: one month (744 hours) of usage for 1,000 customers, 10,000 calls each = 10,000,000
events, two meters (an event count filtered by route template and status class, and unique users charged
as a sum). 20 customers' 200,000 events go through the real ingest pipeline (`metering.ingest.ingest`:
validation, attribution, dedupe insert, rollups); the other 980 customers' 9,800,000 events are bulk-loaded
as the hourly rollups and per-hour distinct values the pipeline would have produced (the raw events table
holds only the 200,000 ingested ones). Reads never touch raw events by design, so what is measured is exactly
what reporting and charts run:

- charge-by value for a customer-period (`usage.service.charge_report_for`), both meters, 50 customers;
- the whole GET /v1/usage body for a customer (hourly series for the month, period values, estimate);
- GET /v1/usage over ASGI (auth, JSON) for one customer.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import bench_settings, temp_database

from portal_api.accounts.models import User
from portal_api.accounts.service import start_session
from portal_api.billing.models import Customer, Subscription
from portal_api.billing_provider.config import StripeConfig
from portal_api.core.container import Services
from portal_api.db import create_engine, new_id
from portal_api.main import create_app, services_of
from portal_api.metering.events import digest
from portal_api.metering.ingest import Rejection, ingest
from portal_api.metering.models import Meter, UsageEvent, UsageRollup
from portal_api.metering.store import store_for
from portal_api.metering.usage.ingest_schemas import normalize_usage_event
from portal_api.metering.usage.prices import PriceCache
from portal_api.metering.usage.service import charge_report_for, usage_report
from portal_api.migrate import upgrade_database

PERIOD_START = datetime(2025, 1, 1, tzinfo=UTC)
PERIOD_END = datetime(2025, 2, 1, tzinfo=UTC)
HOURS = int((PERIOD_END - PERIOD_START) / timedelta(hours=1))  # 744
CUSTOMERS = 1_000
REAL_CUSTOMERS = 20
EVENTS_PER_CUSTOMER = 10_000
END_USERS_PER_CUSTOMER = 40
DISTINCT_PER_HOUR = 3
SAMPLES = 50
PRICE = {
    "id": "price_bench",
    "currency": "usd",
    "billing_scheme": "tiered",
    "tiers_mode": "graduated",
    "tiers": [
        {"up_to": 1000, "unit_amount": 0},
        {"up_to": 10000, "unit_amount": 2},
        {"up_to": "inf", "unit_amount": 1},
    ],
}


class StubGateway:
    """No network in benches: the price the estimate needs, as Stripe would return it."""

    async def retrieve_price(self, price_id: str) -> dict[str, Any]:
        return PRICE


class StubStripe:
    """Stands in for `services.stripe`: the stored configuration as the real connection reads it, and the
    stub gateway for every purpose, so the price lookup behind the estimate stays in this process."""

    def __init__(self, services: Services) -> None:
        self._connection = services.stripe
        self._gateway = StubGateway()

    async def seed(self) -> None:
        await self._connection.seed()

    async def config(self) -> StripeConfig:
        return await self._connection.config()

    async def gateway(self, purpose: str = "api") -> StubGateway:
        return self._gateway

    def gateway_for(self, config: StripeConfig, purpose: str = "api") -> StubGateway:
        return self._gateway

    async def aclose(self) -> None:
        await self._connection.aclose()


def per_hour(total: int, rng: random.Random) -> list[int]:
    """Split `total` events over the month's hours, unevenly (busier and quieter hours)."""
    weights = [0.5 + rng.random() for _ in range(HOURS)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % HOURS] += 1
    return counts


async def setup(app: Any) -> tuple[list[str], list[str], dict[str, str]]:
    """Users for the real customers (with subscriptions for the period), the two meters; returns ids."""
    services = services_of(app)
    tokens: dict[str, str] = {}
    async with services.database.write() as session:
        meters = []
        for name, filters, metric in (
            (
                "Item calls",
                '{"and":[{"field":"route","value":"/v1/items/{id}"},{"field":"status","value":"2xx"}]}',
                '{"type":"event_count"}',
            ),
            ("Active end users", "null", '{"type":"unique_users"}'),
        ):
            meter = Meter(
                name=name,
                stripe_product_id="prod_bench",
                stripe_price_id="price_bench",
                filters=filters,
                metric=metric,
                charge_by="sum_during_period",
            )
            session.add(meter)
            meters.append(meter)
        real = []
        for n in range(REAL_CUSTOMERS):
            user = User(email=f"real{n}@example.com", password_hash="x")
            session.add(user)
            await session.flush()
            real.append(user.id)
            session.add(Customer(user_id=user.id, stripe_customer_id=f"cus_real{n}", email=user.email))
            session.add(
                Subscription(
                    user_id=user.id,
                    stripe_customer_id=f"cus_real{n}",
                    stripe_subscription_id=new_id("sub_bench"),
                    status="active",
                    current_period_start=PERIOD_START,
                    current_period_end=PERIOD_END,
                )
            )
            auth = await start_session(session, services.settings, user)
            tokens[user.id] = services.session_tokens.sign(auth.id)
        return [m.id for m in meters], real, tokens


async def ingest_real(app: Any, real: list[str], rng: random.Random) -> tuple[int, float]:
    """The real pipeline, hour by hour, with `now` just after each hour (as if sent live)."""
    services = services_of(app)
    plans = {user_id: per_hour(EVENTS_PER_CUSTOMER, rng) for user_id in real}
    customers = {user_id: f"cus_real{n}" for n, user_id in enumerate(real)}
    sent = 0
    started = time.perf_counter()
    for hour in range(HOURS):
        start = PERIOD_START + timedelta(hours=hour)
        raw = []
        for user_id in real:
            for _ in range(plans[user_id][hour]):
                raw.append(
                    {
                        "id": uuid.uuid4().hex,
                        "customer": customers[user_id],
                        "user_id": f"eu{rng.randrange(END_USERS_PER_CUSTOMER)}",
                        "route": f"/v1/items/{rng.randrange(500)}",
                        "method": "GET",
                        "status": 200,
                        "timestamp": (start + timedelta(seconds=rng.randrange(3600))).isoformat(),
                    }
                )
        events = [normalize_usage_event(i, r) for i, r in enumerate(raw)]
        async with services.database.write() as session:
            result = await ingest(
                session,
                services.settings,
                [e for e in events if not isinstance(e, Rejection)],
                [e for e in events if isinstance(e, Rejection)],
                received=len(raw),
                now=start + timedelta(hours=1),
            )
        sent += result.accepted
    return sent, time.perf_counter() - started


async def bulk_load(app: Any, meter_ids: list[str], rng: random.Random) -> int:
    """Rollups and distinct values for the bulk customers, as the pipeline would have written them."""
    count_meter, unique_meter = meter_ids
    rollups: list[tuple[str, str, datetime, int, int]] = []
    values: list[tuple[str, str, datetime, str]] = []
    represented = 0
    digests = {n: digest(f"u:eu{n}") for n in range(END_USERS_PER_CUSTOMER)}  # as unique_value() makes them
    hours = [PERIOD_START + timedelta(hours=hour) for hour in range(HOURS)]
    for n in range(CUSTOMERS - REAL_CUSTOMERS):
        user_id = f"usr_bulk{n:06d}"
        counts = per_hour(EVENTS_PER_CUSTOMER, rng)
        represented += EVENTS_PER_CUSTOMER
        for moment, events in zip(hours, counts, strict=True):
            rollups.append((count_meter, user_id, moment, events, events * 1000))
            seen = {digests[rng.randrange(END_USERS_PER_CUSTOMER)] for _ in range(DISTINCT_PER_HOUR)}
            rollups.append((unique_meter, user_id, moment, events, len(seen) * 1000))
            values.extend((unique_meter, user_id, moment, v) for v in seen)
    async with services_of(app).database.write() as session:
        connection = await session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        if connection.dialect.name == "postgresql":
            await raw.copy_records_to_table(  # type: ignore[union-attr]
                "usage_rollups",
                records=rollups,
                columns=["meter_id", "user_id", "hour", "events", "value_milli"],
            )
            await raw.copy_records_to_table(  # type: ignore[union-attr]
                "usage_rollup_values", records=values, columns=["meter_id", "user_id", "hour", "value"]
            )
        else:
            # The text form SQLAlchemy's SQLite DateTime stores (and compares) naive UTC datetimes in.
            stamps = {
                moment: moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") for moment in hours
            }
            stamp = stamps.__getitem__

            await raw.executemany(  # type: ignore[union-attr]
                "INSERT INTO usage_rollups (meter_id, user_id, hour, events, value_milli) "
                "VALUES (?, ?, ?, ?, ?)",
                [(m, u, stamp(h), e, v) for m, u, h, e, v in rollups],
            )
            await raw.executemany(  # type: ignore[union-attr]
                "INSERT INTO usage_rollup_values (meter_id, user_id, hour, value) VALUES (?, ?, ?, ?)",
                [(m, u, stamp(h), v) for m, u, h, v in values],
            )
    return represented


def timings(samples: list[float]) -> dict[str, float]:
    """The first (cold: empty caches, plans not yet prepared) call apart, percentiles over the rest."""
    first, ordered = samples[0], sorted(samples[1:])
    return {
        "first ms": round(first * 1000, 2),
        "p50 ms": round(statistics.median(ordered) * 1000, 2),
        "p99 ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "max ms": round(ordered[-1] * 1000, 2),
    }


async def measure(backend: str) -> list[dict[str, Any]]:
    async with temp_database(backend) as url:
        if url is None:
            return [
                {
                    "figure": f"aggregate ({backend})",
                    "n": None,
                    "first ms": None,
                    "p50 ms": None,
                    "p99 ms": None,
                    "max ms": None,
                    "note": "PostgreSQL unreachable",
                }
            ]
        engine = create_engine(url)
        await upgrade_database(engine)
        await engine.dispose()
        settings = bench_settings(url)
        app = create_app(settings)
        services = services_of(app)
        services.stripe = StubStripe(services)  # type: ignore[assignment]
        rows: list[dict[str, Any]] = []
        rng = random.Random(11)
        async with app.router.lifespan_context(app):
            meter_ids, real, tokens = await setup(app)
            ingested, ingest_seconds = await ingest_real(app, real, rng)
            load_started = time.perf_counter()
            bulk = await bulk_load(app, meter_ids, rng)
            load_seconds = time.perf_counter() - load_started
            async with services.database.read() as session:
                raw_events = int(await session.scalar(select(func.count()).select_from(UsageEvent)) or 0)
                rollup_rows = int(await session.scalar(select(func.count()).select_from(UsageRollup)) or 0)
                meters = {m.id: m for m in (await session.execute(select(Meter))).scalars()}
            total = ingested + bulk
            setup_note = (
                f"{total:,} events: {ingested:,} ingested ({ingested / ingest_seconds:,.0f}/s), "
                f"{bulk:,} bulk-loaded in {load_seconds:.0f}s; "
                f"{raw_events:,} raw rows, {rollup_rows:,} rollup rows"
            )
            customers = real + [
                f"usr_bulk{n:06d}" for n in rng.sample(range(CUSTOMERS - REAL_CUSTOMERS), SAMPLES - len(real))
            ]

            checks = []
            for meter_id, label in zip(meter_ids, ("event count", "unique users (sum)"), strict=True):
                samples = []
                for user_id in customers:
                    async with services.database.read() as session:
                        started = time.perf_counter()
                        report = await charge_report_for(
                            store_for(session), meters[meter_id], user_id, PERIOD_START, PERIOD_END
                        )
                        samples.append(time.perf_counter() - started)
                    if meter_id == meter_ids[0]:
                        checks.append(report.period_value == EVENTS_PER_CUSTOMER)
                rows.append(
                    {
                        "figure": f"charge-by value, {label} ({backend})",
                        "n": len(samples),
                        **timings(samples),
                        "note": "",
                    }
                )

            samples = []
            prices = PriceCache()
            for user_id in real:
                started = time.perf_counter()
                await usage_report(
                    services.database,
                    services.settings,
                    services.stripe,
                    prices,
                    user_id=user_id,
                    start=None,
                    end=None,
                    granularity="hour",
                    now=PERIOD_START + timedelta(days=20),
                )
                samples.append(time.perf_counter() - started)
            rows.append(
                {
                    "figure": f"usage report, 2 meters, 744 h series ({backend})",
                    "n": len(samples),
                    **timings(samples),
                    "note": "",
                }
            )

            samples = []
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                user_id = real[0]
                params = {"from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z", "granularity": "day"}
                for _ in range(20):
                    started = time.perf_counter()
                    response = await client.get(
                        "/v1/usage", params=params, headers={"Authorization": f"Bearer {tokens[user_id]}"}
                    )
                    samples.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise RuntimeError(response.text)
                body = response.json()
            rows.append(
                {
                    "figure": f"GET /v1/usage over ASGI, daily ({backend})",
                    "n": len(samples),
                    **timings(samples),
                    "note": "",
                }
            )
            correct = all(checks) and body["meters"][0]["period_value"] == EVENTS_PER_CUSTOMER
            rows.append(
                {
                    "figure": f"dataset ({backend})",
                    "n": total,
                    "first ms": None,
                    "p50 ms": None,
                    "p99 ms": None,
                    "max ms": None,
                    "note": setup_note
                    + ("; period values check out" if correct else "; PERIOD VALUES WRONG"),
                }
            )
        return rows


async def main() -> list[dict[str, Any]]:
    return [row for backend in ("sqlite", "postgresql") for row in await measure(backend)]


if __name__ == "__main__":
    from run_all import print_table

    print_table(asyncio.run(main()))
