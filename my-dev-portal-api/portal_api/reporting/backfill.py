"""Backfill: report (or correct) usage of past hours, as `portal-api backfill --from ... --to ...` does.

Runs the reporter over the given hours instead of the lookback window: hours never reported are sent, hours
whose usage changed get corrections, hours already in Stripe are left alone (safe to run twice). Hours of
periods Stripe has already invoiced follow report_decisions.py (sum carried into the current period).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from portal_api.db import utcnow
from portal_api.metering.rollups import hour_of
from portal_api.reporting.reporter import Progress, RunResult, UsageReporter


def parse_moment(value: str) -> datetime:
    """An ISO date or date-time; without a zone it is UTC."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def closed_hours(
    reporter: UsageReporter, start: datetime, end: datetime, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The closed hours [since, until) within [start, end); ValueError when there is none."""
    until = min(hour_of(end), reporter.closed_until(now or utcnow()))
    since = hour_of(start)
    if until <= since:
        raise ValueError(f"nothing to report: no closed hour in [{since.isoformat()}, {until.isoformat()})")
    return since, until


async def backfill(
    reporter: UsageReporter,
    start: datetime,
    end: datetime,
    *,
    meter_id: str | None = None,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
    now: datetime | None = None,
) -> RunResult:
    """Report the closed hours in [start, end); ValueError when there is none. `stop` ends it cleanly."""
    since, until = closed_hours(reporter, start, end, now)
    return await reporter.run(
        kind="backfill", since=since, until=until, meter_id=meter_id, progress=progress, stop=stop
    )
