"""The `portal-api` commands, each on a service container of its own (build_services), closed at the end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from tqdm import tqdm

from portal_api.accounts.service import ensure_admin
from portal_api.admin.tokens import create_admin_token
from portal_api.cli.database import DatabaseNotReady, revision_of, sqlite_file
from portal_api.config import Settings
from portal_api.core.container import Services
from portal_api.errors import NotFound
from portal_api.metering.meters.demo import NotTheEmulator, seed_demo_meters
from portal_api.metering.meters.service import get_meter
from portal_api.migrate import head_revision, upgrade_database
from portal_api.reporting.backfill import backfill as run_backfill
from portal_api.reporting.reporter import Progress, RunResult
from portal_api.services import build_services, start_services
from portal_api.worker import run_worker


@asynccontextmanager
async def command_services(settings: Settings) -> AsyncIterator[Services]:
    services = build_services(settings)
    try:
        await start_services(services, run_jobs=False)
        yield services
    finally:
        await services.aclose()


async def migrate(settings: Settings, *, create: bool = False) -> None:
    """Upgrade the database to this code's head. A missing SQLite file is made only with `create`."""
    path = sqlite_file(settings.database_url)
    created = False
    if path is not None and not path.is_file():
        if not create:
            raise DatabaseNotReady(
                f"the database file {path} does not exist: pass --create to make it there "
                "(`portal-api migrate --create`), or set DATABASE_URL to your database"
            )
        if not path.parent.is_dir():
            raise DatabaseNotReady(f"cannot create {path}: the directory {path.parent} does not exist")
        created = True
    elif path is None:
        await revision_of(settings.database_url)  # a database server that is not there says so here
    services = build_services(settings)
    try:
        await upgrade_database(services.database.write_engine())
    finally:
        await services.aclose()
    if created:
        print(f"created the database file {path}")
    print(f"database is up to date (migration {head_revision()})")


async def create_admin(
    settings: Settings, email: str, password: str, with_token: bool, scopes: list[str]
) -> None:
    async with command_services(settings) as services:
        password_hash = await services.passwords.hash(password)
        async with services.database.write() as session:
            user = await ensure_admin(session, email=email, password_hash=password_hash)
            secret = None
            if with_token:
                _, secret = await create_admin_token(
                    session, settings, name="cli", created_by_user_id=user.id, scopes=scopes
                )
        print(f"admin {user.email} ready")
        if secret is not None:
            print(f"admin API token with scopes {', '.join(scopes)} (shown once): {secret}")


async def worker(settings: Settings, stop: asyncio.Event) -> None:
    await run_worker(settings, stop=stop)


class UnknownMeter(Exception):
    """--meter names no meter."""


async def _check_meter(services: Services, meter_id: str | None) -> None:
    if meter_id is None:
        return
    async with services.database.read() as session:
        try:
            await get_meter(session, meter_id)
        except NotFound:
            raise UnknownMeter(f"--meter: there is no meter {meter_id}") from None


def _progress_bar(desc: str) -> tuple[Progress, tqdm]:  # type: ignore[type-arg]
    bar = tqdm(total=0, unit="report", desc=desc)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return progress, bar


def _print_outcome(what: str, result: RunResult) -> int:
    """Print the run's outcome; the exit code is 0 when everything due was sent (or retried next run)."""
    print(
        f"{what} {result.status}: {result.sent} sent, {result.corrections} corrections, "
        f"{result.failed} failed, {result.rejected} rejected, {result.skipped} skipped (run {result.run_id})"
    )
    for error in result.errors[:10]:
        print(f"  {error}")
    return 0 if result.status in ("succeeded", "partial") else 1


async def backfill(
    settings: Settings, start: datetime, end: datetime, meter_id: str | None, stop: asyncio.Event
) -> int:
    """Report [start, end); prints the outcome; the exit code is 0 when everything due was sent."""
    async with command_services(settings) as services:
        await _check_meter(services, meter_id)
        progress, bar = _progress_bar("backfill")
        try:
            result = await run_backfill(
                services.usage_reporter, start, end, meter_id=meter_id, progress=progress, stop=stop
            )
        finally:
            bar.close()
    return _print_outcome("backfill", result)


async def seed_meters(settings: Settings) -> int:
    """One meter per metered price of the emulator's catalog that has none; exit code 2 off the emulator."""
    async with command_services(settings) as services:
        try:
            seeded = await seed_demo_meters(
                services.database, settings, await services.stripe.gateway(), services.plan_catalog
            )
        except NotTheEmulator as exc:
            print(exc.message)
            return 2
    for demo in seeded:
        price = f"{demo.price_nickname or demo.price_id} ({demo.price_id})"
        if demo.meter_id:
            print(f"created meter “{demo.meter_name}” ({demo.meter_id}) for {price}")
        else:
            print(f"kept meter “{demo.meter_name}” of {price}")
    if not seeded:
        print("the catalog has no metered price")
    return 0


async def report(
    settings: Settings, meter_id: str | None, stop: asyncio.Event, *, now: datetime | None = None
) -> int:
    """One pass of the hourly report (every closed hour of the lookback window), now; prints the outcome."""
    async with command_services(settings) as services:
        await _check_meter(services, meter_id)
        progress, bar = _progress_bar("report")
        try:
            result = await services.usage_reporter.run(
                kind="manual", meter_id=meter_id, progress=progress, stop=stop, now=now
            )
        finally:
            bar.close()
    return _print_outcome("report", result)
