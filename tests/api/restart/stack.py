"""A loopback stack of real processes over one SQLite file: stripe-emulator, the API (uvicorn), backfill runs.

Used by the restart-safety test and by bench/load.py. The emulator's clock is moved back three hours while
the customers subscribe, so the two hours just closed (in real time) fall inside their billing periods and
`portal-api backfill` (which reports closed hours of the wall clock) can report them. Usage records
(2020-08-27) with a metered "sum" price; each customer has one API key and one subscription item.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from portal_api.accounts.models import User
from portal_api.billing import service as billing
from portal_api.config import Settings
from portal_api.keys.models import ApiKey
from portal_api.keys.service import hash_key
from portal_api.metering.collector.tokens import create_token
from portal_api.metering.meters.schemas import MeterCreate
from portal_api.metering.meters.service import create_meter
from portal_api.metering.models import UsageEvent, UsageRollup
from portal_api.migrate import upgrade_database
from portal_api.reporting.models import UsageReport
from portal_api.services import build_services
from tests.fixtures.members import ADMIN_TOKEN

STRIPE_KEY = "sk_test_loopback_stack"
STRIPE_VERSION = "2020-08-27"
SECRET_KEY = "loopback-stack-secret-" + "s" * 32
BACKDATE_HOURS = 3
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_hours(now: datetime | None = None) -> list[datetime]:
    """The two hours just closed in real time: usage goes there so backfill can report it."""
    top = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=2), top - timedelta(hours=1)]


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Stack:
    """The temp directory, ports and environment of one loopback stack; processes are started on demand."""

    folder: Path
    emulator_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    emulator: subprocess.Popen[bytes] | None = None
    api: subprocess.Popen[bytes] | None = None
    # The hours usage goes to, fixed when the stack is made (the run may cross an hour boundary).
    hours: list[datetime] = field(default_factory=closed_hours)
    # A PostgreSQL URL for stacks of several processes; by default an SQLite file in the folder.
    database: str | None = None

    @property
    def database_url(self) -> str:
        return self.database or f"sqlite+aiosqlite:///{self.folder / 'stack.db'}"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self, **extra: str) -> dict[str, str]:
        values = {
            "ENVIRONMENT": "test",
            "DATABASE_URL": self.database_url,
            "RUN_MIGRATIONS_ON_START": "false",
            "RUN_JOBS_IN_PROCESS": "false",
            "SECRET_KEY": SECRET_KEY,
            "ADMIN_BOOTSTRAP_TOKEN": ADMIN_TOKEN,
            "STRIPE_API_BASE": self.emulator_url,
            "STRIPE_API_KEY": STRIPE_KEY,
            "STRIPE_API_VERSION": STRIPE_VERSION,
            "STRIPE_MAX_RETRIES": "0",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "LOG_JSON": "false",
            "REPORTING_SETTLE_MINUTES": "0",
            "REPORTING_RETRY_BASE_SECONDS": "0.01",
            "REPORTING_RETRY_MAX_SECONDS": "0.05",
            "REPORTING_STALE_RUN_SECONDS": "1",
            "DB_TRANSACTION_GUARD": "raise",
        }
        values.update(extra)
        return {**os.environ, **values}

    def settings(self) -> Settings:
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="test",
            database_url=self.database_url,
            run_migrations_on_start=False,
            run_jobs_in_process=False,
            secret_key=SECRET_KEY,
            admin_bootstrap_token=ADMIN_TOKEN,
            stripe_api_base=self.emulator_url,
            stripe_api_key=STRIPE_KEY,
            stripe_api_version=STRIPE_VERSION,
            stripe_max_retries=0,
            log_level="WARNING",
            log_json=False,
            db_transaction_guard="raise",
        )

    def start_emulator(self) -> None:
        self.emulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stripe_emulator.cli",
                "--port",
                str(self.emulator_port),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
        )
        wait_ready(f"{self.emulator_url}/_emulator/clock", self.emulator)

    def start_api(self, extra_env: dict[str, str] | None = None) -> None:
        self.api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "portal_api.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=self.env(**(extra_env or {})),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
        )
        wait_ready(f"{self.api_url}/healthz", self.api)

    def backfill(self, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """`portal-api backfill` from the first usage hour to now, as a subprocess (not waited); its output
        (progress bar, errors) is appended to backfill.log, never to a pipe nobody reads."""
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        with (self.folder / "backfill.log").open("ab") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "portal_api.cli",
                    "backfill",
                    "--from",
                    self.hours[0].isoformat(),
                    "--to",
                    end.isoformat(),
                ],
                env=self.env(**(extra_env or {})),
                stdout=log,
                stderr=log,
                cwd=self.folder,
            )

    def backfill_log_tail(self) -> str:
        path = self.folder / "backfill.log"
        return path.read_text(errors="replace")[-1000:] if path.exists() else ""

    def stop_all(self) -> None:
        stop(self.api)
        stop(self.emulator)


@dataclass
class Seeded:
    user_ids: list[str]
    keys: list[str]  # the customers' API key secrets, same order
    items: dict[str, str]  # user id -> Stripe subscription item id
    meter_id: str
    collector_token: str


async def seed(stack: Stack, customers: int) -> Seeded:
    """Migrate, then customers with a subscription (in the emulator, mirrored), an API key each, a meter."""
    settings = stack.settings()
    services = build_services(settings)
    stripe = httpx.AsyncClient(
        base_url=stack.emulator_url,
        headers={"Authorization": f"Bearer {STRIPE_KEY}", "Stripe-Version": STRIPE_VERSION},
        timeout=30,
    )

    async def post(path: str, data: dict[str, Any]) -> dict[str, Any]:
        response = await stripe.post(path, data=data, headers={"Idempotency-Key": uuid.uuid4().hex})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    try:
        await upgrade_database(services.database.write_engine())
        await services.stripe.seed()
        product = await post("/v1/products", {"name": "Loopback API"})
        price = await post(
            "/v1/prices",
            {
                "product": product["id"],
                "currency": "usd",
                "unit_amount": "2",
                "recurring[interval]": "month",
                "recurring[usage_type]": "metered",
                "recurring[aggregate_usage]": "sum",
            },
        )
        back = {"hours": -BACKDATE_HOURS}
        (await stripe.post("/_emulator/clock/advance", json=back)).raise_for_status()
        user_ids, keys, items = [], [], {}
        try:
            for index in range(customers):
                email = f"loopback{index}-{uuid.uuid4().hex[:6]}@example.com"
                secret = f"mdp_test_{uuid.uuid4().hex}{uuid.uuid4().hex[:11]}"
                async with services.database.write() as session:
                    user = User(email=email, name=f"Customer {index}", password_hash="not-a-login")
                    session.add(user)
                    await session.flush()
                    user_id = user.id
                    session.add(
                        ApiKey(
                            user_id=user_id,
                            name="load",
                            prefix=secret[:16],
                            key_hash=hash_key(settings, secret),
                            mode="test",
                        )
                    )
                customer = await post("/v1/customers", {"email": email, "metadata[user_id]": user_id})
                sub = await post(
                    "/v1/subscriptions", {"customer": customer["id"], "items[0][price]": price["id"]}
                )
                data = await (await services.stripe.gateway()).retrieve_subscription(sub["id"])
                async with services.database.write() as session:
                    await billing.link_customer(session, user_id, customer)
                    await billing.sync_subscription(session, data, user_id=user_id)
                user_ids.append(user_id)
                keys.append(secret)
                items[user_id] = data["items"]["data"][0]["id"]
        finally:
            forward = {"hours": BACKDATE_HOURS}
            (await stripe.post("/_emulator/clock/advance", json=forward)).raise_for_status()
        meter = await create_meter(
            services.database,
            settings,
            await services.stripe.gateway(),
            MeterCreate(name="loopback calls", stripe_price_id=price["id"]),
        )
        meter_id = meter.id
        async with services.database.write() as session:
            _, collector = await create_token(session, settings, name="loopback", created_by_user_id=None)
        return Seeded(user_ids, keys, items, meter_id, collector)
    finally:
        await stripe.aclose()
        await services.aclose()


@dataclass
class Stored:
    """What our database holds after the run."""

    dedupe_counts: dict[str, int]  # dedupe key -> rows (a unique column: always 1, checked anyway)
    rollup_events: dict[str, int]  # user id -> events in the meter's rollups
    ledger_sent: dict[str, int]  # Stripe item id -> ledger rows sent (one POST each)
    ledger_unfinished: int


async def read_stored(stack: Stack, meter_id: str) -> Stored:
    services = build_services(stack.settings())
    try:
        async with services.database.read() as session:
            keys = await session.execute(
                select(UsageEvent.dedupe_key, func.count()).group_by(UsageEvent.dedupe_key)
            )
            rollups = await session.execute(
                select(UsageRollup.user_id, func.sum(UsageRollup.events))
                .where(UsageRollup.meter_id == meter_id)
                .group_by(UsageRollup.user_id)
            )
            sent = await session.execute(
                select(UsageReport.subscription_item_id, func.count())
                .where(UsageReport.status == "sent")
                .group_by(UsageReport.subscription_item_id)
            )
            unfinished = await session.scalar(
                select(func.count()).where(UsageReport.status.in_(("pending", "sending", "failed")))
            )
            return Stored(
                {k: int(n) for k, n in keys.all()},
                {u: int(n) for u, n in rollups.all()},
                {i: int(n) for i, n in sent.all()},
                int(unfinished or 0),
            )
        raise AssertionError("unreachable")
    finally:
        await services.aclose()


def stripe_totals(stack: Stack, items: Iterable[str]) -> dict[str, int]:
    """Stripe item id -> the current period's total_usage (the usage record summary)."""
    headers = {"Authorization": f"Bearer {STRIPE_KEY}", "Stripe-Version": STRIPE_VERSION}
    totals = {}
    with httpx.Client(base_url=stack.emulator_url, headers=headers, timeout=30) as client:
        for item in items:
            response = client.get(f"/v1/subscription_items/{item}/usage_record_summaries")
            response.raise_for_status()
            current = [s for s in response.json()["data"] if s["invoice"] is None]
            totals[item] = int(current[0]["total_usage"]) if current else 0
    return totals


def usage_record_posts(stack: Stack) -> dict[str, int]:
    """Stripe item id -> POSTs to its usage_records path the emulator received."""
    stats = httpx.get(f"{stack.emulator_url}/_emulator/stats", timeout=10).json()["requests"]
    posts = {}
    for name, count in stats.items():
        if name.startswith("POST /v1/subscription_items/") and name.endswith("/usage_records"):
            posts[name.split("/")[3]] = int(count)
    return posts
