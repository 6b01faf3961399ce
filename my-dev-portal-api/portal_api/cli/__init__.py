"""`portal-api` command line: migrate, create an admin, run the background worker, backfill usage, and seed
the emulator's demo meters."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import Sequence

from portal_api.admin.scopes import SCOPES
from portal_api.cli import commands
from portal_api.cli.signals import exit_in_bounded_time, run_stoppable
from portal_api.config import get_settings
from portal_api.reporting.backfill import parse_moment


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
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
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "migrate":
        asyncio.run(commands.migrate(get_settings()))
    elif args.command == "create-admin":
        scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            parser.error(f"--scopes: unknown scope(s) {', '.join(unknown)}")
        password = getpass.getpass("password: ")
        asyncio.run(commands.create_admin(get_settings(), args.email, password, args.token, scopes))
    elif args.command == "worker":
        settings = get_settings()
        run_stoppable(lambda stop: commands.worker(settings, stop), settings.shutdown_timeout_seconds)
        exit_in_bounded_time(0)
    elif args.command == "backfill":
        try:
            start, end = parse_moment(args.start), parse_moment(args.end)
        except ValueError as exc:
            parser.error(f"--from/--to: {exc}")
        settings = get_settings()
        try:
            code = run_stoppable(
                lambda stop: commands.backfill(settings, start, end, args.meter_id, stop),
                settings.shutdown_timeout_seconds,
            )
        except ValueError as exc:
            parser.error(str(exc))
        exit_in_bounded_time(code)
    elif args.command == "seed-demo-meters":
        raise SystemExit(asyncio.run(commands.seed_meters(get_settings())))
