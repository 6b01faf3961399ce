"""`portal-api` command line: migrate, create an admin, run the background worker, backfill or report usage,
and seed the emulator's demo meters.

Every command first prints which database it uses. Only `migrate --create` makes a new SQLite file; the
other commands refuse (exit code 2, saying what to run) a database that does not exist or is not migrated
to this code's head, so a command run from the wrong directory no longer works on an empty ./portal.db.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from typing import NoReturn

from portal_api.admin.scopes import SCOPES
from portal_api.cli import commands
from portal_api.cli.database import DatabaseNotReady, check_ready, describe
from portal_api.cli.signals import exit_in_bounded_time, run_stoppable
from portal_api.config import Settings, get_settings
from portal_api.reporting.backfill import parse_moment

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal-api", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument(
        "--create", action="store_true", help="make the SQLite database file when it does not exist"
    )
    admin = sub.add_parser("create-admin", help="create or promote a provider admin")
    admin.add_argument("email")
    admin.add_argument("--token", action="store_true", help="also create an admin API token")
    admin.add_argument(
        "--scopes",
        default="admin,verify,ingest",
        help=f"the token's scopes, comma-separated ({', '.join(SCOPES)}); a gateway needs verify,ingest",
    )
    sub.add_parser("worker", help="run the scheduled jobs (webhook inbox, usage reporting, reconciliation)")
    backfill = sub.add_parser("backfill", help="report usage of past hours to Stripe (safe to repeat)")
    backfill.add_argument("--from", dest="start", required=True, help="first hour, ISO date/time (UTC)")
    backfill.add_argument("--to", dest="end", required=True, help="end (exclusive), ISO date/time")
    backfill.add_argument("--meter", dest="meter_id", help="only this meter id")
    sub.add_parser(
        "seed-demo-meters",
        help="on the Stripe emulator only: a meter counting every call for each metered price without one",
    )
    report = sub.add_parser(
        "report", help="report usage to Stripe now: one pass over the closed hours, as the hourly job does"
    )
    report.add_argument("--meter", dest="meter_id", help="only this meter id")
    return parser


def _refuse(message: str) -> NoReturn:
    print(f"portal-api: {message}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_USAGE)


def _database(settings: Settings, command: str) -> None:
    """Say which database the command uses; refuse one that is missing or not migrated (not for migrate)."""
    print(f"portal-api {command}: {describe(settings.database_url)}", flush=True)
    if command == "migrate":
        return
    try:
        asyncio.run(check_ready(settings.database_url))
    except DatabaseNotReady as exc:
        _refuse(str(exc))


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    scopes: list[str] = []
    if args.command == "create-admin":
        scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            parser.error(f"--scopes: unknown scope(s) {', '.join(unknown)}")
    if args.command == "backfill":
        try:
            start, end = parse_moment(args.start), parse_moment(args.end)
        except ValueError as exc:
            parser.error(f"--from/--to: {exc}")
    settings = get_settings()
    _database(settings, args.command)
    if args.command == "migrate":
        try:
            asyncio.run(commands.migrate(settings, create=args.create))
        except DatabaseNotReady as exc:
            _refuse(str(exc))
    elif args.command == "create-admin":
        password = getpass.getpass("password: ")
        asyncio.run(commands.create_admin(settings, args.email, password, args.token, scopes))
    elif args.command == "worker":
        run_stoppable(lambda stop: commands.worker(settings, stop), settings.shutdown_timeout_seconds)
        exit_in_bounded_time(0)
    elif args.command == "backfill":
        try:
            code = run_stoppable(
                lambda stop: commands.backfill(settings, start, end, args.meter_id, stop),
                settings.shutdown_timeout_seconds,
            )
        except (ValueError, commands.UnknownMeter) as exc:
            _refuse(str(exc))
        exit_in_bounded_time(code)
    elif args.command == "report":
        try:
            code = run_stoppable(
                lambda stop: commands.report(settings, args.meter_id, stop), settings.shutdown_timeout_seconds
            )
        except commands.UnknownMeter as exc:
            _refuse(str(exc))
        exit_in_bounded_time(code)
    elif args.command == "seed-demo-meters":
        raise SystemExit(asyncio.run(commands.seed_meters(settings)))
