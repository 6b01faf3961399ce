"""`portal-api backfill --from ... --to ...`: report (or correct) usage of past hours, with a progress bar.

Runs the reporter over the given hours instead of the lookback window: hours never reported are sent, hours
whose usage changed get corrections, hours already in Stripe are left alone (safe to run twice). Hours of
periods Stripe has already invoiced follow the planner's rules (sum carried into the current period).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tqdm import tqdm

from portal_api.config import Settings, get_settings
from portal_api.db import utcnow
from portal_api.main import create_app
from portal_api.metering.rollups import hour_of
from portal_api.migrate import upgrade_database
from portal_api.reporting.reporter import RunResult, UsageReporter


def parse_moment(value: str) -> datetime:
    """An ISO date or date-time; without a zone it is UTC."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def backfill(
    start: datetime,
    end: datetime,
    *,
    meter_id: str | None = None,
    settings: Settings | None = None,
    show_progress: bool = True,
) -> RunResult:
    settings = settings or get_settings()
    app = create_app(settings)
    reporter: UsageReporter = app.state.usage_reporter
    until = min(hour_of(end), reporter.closed_until(utcnow()))
    since = hour_of(start)
    if until <= since:
        raise ValueError(f"nothing to report: no closed hour in [{since.isoformat()}, {until.isoformat()})")
    bar = tqdm(total=0, unit="report", desc="backfill", disable=not show_progress)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        if settings.run_migrations_on_start:
            await upgrade_database(app.state.engine)
        return await reporter.run(
            kind="backfill", since=since, until=until, meter_id=meter_id, progress=progress
        )
    finally:
        bar.close()
        await app.state.stripe.aclose()
        await app.state.stripe_gateways.aclose()
        await app.state.engine.dispose()
