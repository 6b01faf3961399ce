"""`portal-api` command line: migrate, create an admin, run the background worker."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import Sequence

from portal_api.accounts.service import ensure_admin
from portal_api.admin.tokens import create_admin_token
from portal_api.config import get_settings
from portal_api.db import create_engine, create_session_factory, session_scope
from portal_api.migrate import upgrade_database
from portal_api.security import Passwords


async def _migrate() -> None:
    engine = create_engine(get_settings().database_url)
    try:
        await upgrade_database(engine)
    finally:
        await engine.dispose()
    print("database is up to date")


async def _create_admin(email: str, password: str, with_token: bool) -> None:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        await upgrade_database(engine)
        async for session in session_scope(create_session_factory(engine)):
            user = await ensure_admin(session, Passwords(settings), email=email, password=password)
            print(f"admin {user.email} ready")
            if with_token:
                _, secret = await create_admin_token(
                    session, settings, name="cli", created_by_user_id=user.id
                )
                print(f"admin API token (shown once): {secret}")
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="portal-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations")
    admin = commands.add_parser("create-admin", help="create or promote a provider admin")
    admin.add_argument("email")
    admin.add_argument("--token", action="store_true", help="also create an admin API token")
    commands.add_parser("worker", help="run the scheduled jobs (webhook inbox, usage reporting)")
    backfill = commands.add_parser("backfill", help="report usage of past hours to Stripe (safe to repeat)")
    backfill.add_argument("--from", dest="start", required=True, help="first hour, ISO date/time (UTC)")
    backfill.add_argument("--to", dest="end", required=True, help="end (exclusive), ISO date/time")
    backfill.add_argument("--meter", dest="meter_id", help="only this meter id")
    args = parser.parse_args(argv)

    if args.command == "migrate":
        asyncio.run(_migrate())
    elif args.command == "create-admin":
        password = getpass.getpass("password: ")
        asyncio.run(_create_admin(args.email, password, args.token))
    elif args.command == "worker":
        from portal_api.worker import run_worker

        asyncio.run(run_worker())
    elif args.command == "backfill":
        from portal_api.reporting.backfill import backfill as run_backfill
        from portal_api.reporting.backfill import parse_moment

        try:
            start, end = parse_moment(args.start), parse_moment(args.end)
        except ValueError as exc:
            parser.error(f"--from/--to: {exc}")
        try:
            result = asyncio.run(run_backfill(start, end, meter_id=args.meter_id))
        except ValueError as exc:
            parser.error(str(exc))
        print(
            f"backfill {result.status}: {result.sent} sent, {result.corrections} corrections, "
            f"{result.failed} failed, {result.rejected} rejected, {result.skipped} skipped"
        )
        for error in result.errors[:10]:
            print(f"  {error}")
        if result.status not in ("succeeded", "partial"):
            raise SystemExit(1)


if __name__ == "__main__":
    main()
