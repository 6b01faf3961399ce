"""Figure: one hourly usage report for 10,000 subscriptions, against the stripe-emulator as a real server.

Starts `stripe-emulator` in a subprocess on 127.0.0.1, creates a metered price and 10,000 customers with a
subscription to it (through the Stripe API, concurrently), mirrors them into a temporary SQLite database
(bulk inserts), creates the meter through the metering service and ingests one hour of usage for every
customer through the ingest pipeline. Then times `UsageReporter.run()` for that hour: planning the 10,000
ledger rows and sending them with the reporter's default concurrency. Zero duplicates is checked from the
emulator's request counts (exactly one POST per subscription item's usage_records path) and a second run
sending nothing; Stripe's totals are checked on a sample of items. Row: usage records (2020-08-27); with
BENCH_REPORT_METERS=1 also Billing Meters (2025-03-31.basil). About 1.5 min per row, mostly setup (20,000
Stripe calls to create the customers and subscriptions).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from portal_api.accounts.models import User
from portal_api.billing.models import Customer, Subscription, SubscriptionItem
from portal_api.config import Settings
from portal_api.core.container import Services
from portal_api.db import new_id
from portal_api.logging_setup import configure_logging
from portal_api.metering.ingest import ingest
from portal_api.metering.meters.schemas import MeterCreate
from portal_api.metering.meters.service import create_meter
from portal_api.metering.usage.ingest_schemas import normalize_usage_event
from portal_api.services import build_services, start_services

SUBSCRIPTIONS = 10_000
TARGET_SECONDS = 60.0
SETUP_CONCURRENCY = 48
INGEST_BATCH = 2_000
SAMPLE = 50
API_KEY = "sk_test_bench_report_hourly"
START_TIMEOUT_S = 30.0

Row = dict[str, Any]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator.cli", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_emulator/clock", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the stripe-emulator did not start")


class Stripe:
    """Just enough of the Stripe API for the setup, over one pooled httpx client."""

    def __init__(self, url: str, version: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {API_KEY}", "Stripe-Version": version},
            limits=httpx.Limits(
                max_connections=SETUP_CONCURRENCY, max_keepalive_connections=SETUP_CONCURRENCY
            ),
            timeout=30,
        )

    async def post(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(path, data=data, headers={"Idempotency-Key": uuid.uuid4().hex})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.http.get(path, params=params)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


async def make_price(stripe: Stripe, meters: bool) -> dict[str, Any]:
    product = await stripe.post("/v1/products", {"name": "Bench API"})
    data = {
        "product": product["id"],
        "currency": "usd",
        "unit_amount": "2",
        "recurring[interval]": "month",
        "recurring[usage_type]": "metered",
    }
    if meters:
        meter = await stripe.post(
            "/v1/billing/meters",
            {
                "display_name": "bench calls",
                "event_name": "bench_calls",
                "default_aggregation[formula]": "sum",
            },
        )
        data["recurring[meter]"] = meter["id"]
    else:
        data["recurring[aggregate_usage]"] = "sum"
    return await stripe.post("/v1/prices", data)


async def make_subscriptions(stripe: Stripe, price_id: str) -> list[tuple[str, str, str, int, int]]:
    """(customer, subscription, item, period start, period end) for SUBSCRIPTIONS customers."""
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(index: int) -> tuple[str, str, str, int, int]:
        async with limit:
            customer = await stripe.post("/v1/customers", {"email": f"bench{index}@example.com"})
            sub = await stripe.post(
                "/v1/subscriptions", {"customer": customer["id"], "items[0][price]": price_id}
            )
            item = sub["items"]["data"][0]
            start = sub.get("current_period_start") or item["current_period_start"]
            end = sub.get("current_period_end") or item["current_period_end"]
            return customer["id"], sub["id"], item["id"], start, end

    return list(await asyncio.gather(*(one(i) for i in range(SUBSCRIPTIONS))))


async def mirror(services: Services, price_id: str, subs: list[tuple[str, str, str, int, int]]) -> list[str]:
    """Users, customers, subscriptions and items as our webhook sync would have written them."""
    now = datetime.now(UTC)
    users, customers, subscriptions, items = [], [], [], []
    for index, (customer_id, subscription_id, item_id, start, end) in enumerate(subs):
        user_id, sub_row = new_id("usr"), new_id("sub")
        users.append(
            {
                "id": user_id,
                "email": f"bench{index}@example.com",
                "name": None,
                "password_hash": "-",
                "is_admin": False,
                "created_at": now,
                "updated_at": now,
            }
        )
        customers.append(
            {
                "id": new_id("cust"),
                "user_id": user_id,
                "stripe_customer_id": customer_id,
                "email": None,
                "name": None,
                "deleted_at": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        subscriptions.append(
            {
                "id": sub_row,
                "user_id": user_id,
                "stripe_customer_id": customer_id,
                "stripe_subscription_id": subscription_id,
                "status": "active",
                "price_id": price_id,
                "product_id": None,
                "plan_nickname": None,
                "product_name": None,
                "current_period_start": datetime.fromtimestamp(start, UTC),
                "current_period_end": datetime.fromtimestamp(end, UTC),
                "cancel_at_period_end": False,
                "canceled_at": None,
                "status_changed_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        items.append(
            {
                "id": new_id("si"),
                "subscription_id": sub_row,
                "stripe_item_id": item_id,
                "price_id": price_id,
                "product_id": None,
                "usage_type": "metered",
                "created_at": now,
            }
        )
    async with services.database.write() as session:
        for model, rows in (
            (User, users),
            (Customer, customers),
            (Subscription, subscriptions),
            (SubscriptionItem, items),
        ):
            for start in range(0, len(rows), 2_000):
                await session.execute(insert(model), rows[start : start + 2_000])
    return [u["id"] for u in users]


async def ingest_hour(services: Services, user_ids: list[str], hour: datetime) -> int:
    rng = random.Random(1)
    calls = {user_id: rng.randint(1, 5) for user_id in user_ids}
    raw = [
        {
            "id": uuid.uuid4().hex,
            "user_id": user_id,
            "route": "/v1/things",
            "method": "GET",
            "timestamp": (hour + timedelta(minutes=rng.randint(0, 59))).isoformat(),
        }
        for user_id, count in calls.items()
        for _ in range(count)
    ]
    for start in range(0, len(raw), INGEST_BATCH):
        chunk = raw[start : start + INGEST_BATCH]
        events = [normalize_usage_event(i, e) for i, e in enumerate(chunk)]
        async with services.database.write() as session:
            await ingest(
                session,
                services.settings,
                events,
                [],
                received=len(events),  # type: ignore[arg-type]
                now=hour + timedelta(minutes=59),
            )
    return sum(calls.values())


async def figure(meters: bool) -> Row:
    version = "2025-03-31.basil" if meters else "2020-08-27"
    port = free_port()
    process = start_emulator(port)
    url = f"http://127.0.0.1:{port}"
    tmp = tempfile.TemporaryDirectory(prefix="bench-report-")
    stripe = Stripe(url, version)
    services: Services | None = None
    try:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="test",
            database_url=f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}",
            run_migrations_on_start=True,
            run_jobs_in_process=False,
            stripe_api_base=url,
            stripe_api_key=API_KEY,
            stripe_api_version=version,
            stripe_max_retries=0,
            log_level="WARNING",
            log_json=False,
        )
        configure_logging(settings.log_level, json=settings.log_json)  # as create_app does
        services = build_services(settings)
        await start_services(services, run_jobs=False)  # migrates, seeds the Stripe configuration
        setup_started = time.perf_counter()
        price = await make_price(stripe, meters)
        subs = await make_subscriptions(stripe, price["id"])
        user_ids = await mirror(services, price["id"], subs)
        await create_meter(
            services.database,
            settings,
            await services.stripe.gateway(),
            MeterCreate(name="bench calls", stripe_price_id=price["id"]),
        )
        # The hour the subscriptions started in; reported as the next hourly run would, just after it closed.
        hour = datetime.fromtimestamp(subs[0][3], UTC).replace(minute=0, second=0, microsecond=0)
        calls = await ingest_hour(services, user_ids, hour)
        setup_s = time.perf_counter() - setup_started
        reporter = services.usage_reporter
        before = (await stripe.get("/_emulator/stats"))["requests"]

        started = time.perf_counter()
        result = await reporter.run(now=hour + timedelta(hours=1, minutes=5))
        elapsed = time.perf_counter() - started

        after = (await stripe.get("/_emulator/stats"))["requests"]
        again = await reporter.run(now=hour + timedelta(hours=1, minutes=5))
        posts = {
            k: v - before.get(k, 0)
            for k, v in after.items()
            if k.startswith("POST ") and v != before.get(k, 0)
        }
        if meters:
            duplicates = posts.get("POST /v1/billing/meter_events", 0) - SUBSCRIPTIONS
        else:
            records = {path: n for path, n in posts.items() if path.endswith("/usage_records")}
            # One POST per item and every item reached: any retry or double send would show here.
            duplicates = sum(n - 1 for n in records.values()) + abs(SUBSCRIPTIONS - len(records))
        totals_ok = await check_sample(stripe, subs, meters, hour)
        path = "Billing Meters" if meters else "usage records"
        return {
            "figure": f"hourly report, {SUBSCRIPTIONS:,} subscriptions ({path})",
            "reports sent": result.sent,
            "seconds": elapsed,
            "reports/s": result.sent / elapsed if elapsed else None,
            "failed": result.failed,
            "duplicates": duplicates,
            "second run sent": again.sent,
            "sample totals ok": totals_ok,
            "calls": calls,
            "setup s": setup_s,
            "target s": TARGET_SECONDS,
            "met": result.sent == SUBSCRIPTIONS
            and duplicates == 0
            and elapsed <= TARGET_SECONDS
            and totals_ok,
        }
    finally:
        await stripe.http.aclose()
        if services is not None:
            await services.aclose()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        tmp.cleanup()


async def check_sample(
    stripe: Stripe, subs: list[tuple[str, str, str, int, int]], meters: bool, hour: datetime
) -> bool:
    """Stripe's total equals the calls we ingested for a sample of subscriptions (via the invoice preview)."""
    # The ingest used a seeded RNG per customer order; recompute the same counts.
    rng = random.Random(1)
    counts = [rng.randint(1, 5) for _ in subs]
    for index in random.Random(2).sample(range(len(subs)), SAMPLE):
        customer_id, subscription_id, item_id, _, _ = subs[index]
        if meters:
            preview = await stripe.post(
                "/v1/invoices/create_preview", {"customer": customer_id, "subscription": subscription_id}
            )
        else:
            preview = await stripe.get(
                "/v1/invoices/upcoming", customer=customer_id, subscription=subscription_id
            )
        line = next(line for line in preview["lines"]["data"] if line["subscription_item"] == item_id)
        if int(line["quantity"]) != counts[index]:
            return False
    return True


async def main() -> list[Row]:
    rows = [await figure(meters=False)]
    if os.environ.get("BENCH_REPORT_METERS", "") not in ("", "0"):
        rows.append(await figure(meters=True))
    return rows


if __name__ == "__main__":
    from run_all import print_table

    print_table(asyncio.run(main()))
