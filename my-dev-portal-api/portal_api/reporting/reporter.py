"""The usage reporter: one run plans the ledger rows for closed hours, then sends every unsent row to Stripe.

Exactly once: a row (deterministic idempotency key, see stripe_usage_params.py) is committed before any Stripe
call; each attempt sends the same request under the same key, so Stripe applies it once however often it is
retried (a 5xx, a timeout, a dropped response, a crash between Stripe's answer and our commit). Meter
events also carry the key as their `identifier`; Stripe's "an event already exists with identifier" answer
means an earlier attempt got through and counts as delivered.

Sending is bounded by REPORTING_CONCURRENCY; a failing row is retried within the run with exponential
backoff (longer after a 429) up to REPORTING_MAX_ATTEMPTS, then left `failed` for the next run. A run asked
to stop (its `stop` event: shutdown, Ctrl-C of a backfill) claims no more rows, records the outcomes of the
calls in flight and ends `interrupted`; the next run sends the rest with the same keys. A run cancelled
anyway (a forced shutdown) marks itself interrupted too. No transaction is open while Stripe answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import text

from portal_api.billing_provider.config import StripeConfig
from portal_api.billing_provider.connection import StripeConnection
from portal_api.config import Settings
from portal_api.core.metrics import count_report_run, observe_report_lag
from portal_api.db import Database, utcnow
from portal_api.errors import Conflict, PortalError
from portal_api.metering.rollups import HOUR, hour_of
from portal_api.reporting import ledger
from portal_api.reporting.ledger import ClaimedRow
from portal_api.reporting.ledger_planning import restore_heads, write_plan
from portal_api.reporting.models import ReportRun, ReportStatus
from portal_api.reporting.planner import Planner
from portal_api.reporting.report_plan import Plan
from portal_api.reporting.stripe_usage import Outcome, send_report
from portal_api.reporting.targets import load_targets, price_routes, refresh_subscriptions
from portal_api.stripe_client import StripeAuthFailed, StripeGateway

log = structlog.get_logger(__name__)

# One PostgreSQL advisory lock serializes planning across processes (SQLite serializes write transactions).
PLAN_LOCK_KEY = 0x6D647072706F7274  # "mdprport"
CLAIM_CHUNK = 400
FLUSH_EVERY = 200

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ActiveRun:
    """A run over every customer in progress in this process (the hourly job, a backfill, report now)."""

    kind: str
    started_at: datetime
    run_id: str | None = None


class ReportRunInProgress(Conflict):
    code = "report_run_in_progress"

    def __init__(self, active: ActiveRun) -> None:
        which = f"{active.kind} run {active.run_id}" if active.run_id else f"{active.kind} run"
        super().__init__(
            f"A report run ({which}, started {active.started_at:%H:%M:%S} UTC) is in progress in this "
            "process; wait for it to end (Report runs shows it), then try again"
        )


@dataclass
class RunResult:
    run_id: str
    status: str
    planned: int = 0
    corrections: int = 0
    sent: int = 0
    failed: int = 0
    rejected: int = 0
    skipped: int = 0
    expired: int = 0
    retries: int = 0
    lag_seconds: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _SendState:
    result: RunResult
    max_errors: int
    total: int = 0
    done: int = 0
    pending: list[tuple[ClaimedRow, Outcome, int]] = field(default_factory=list)
    rejected_subscriptions: set[str] = field(default_factory=set)
    auth_error: str | None = None

    def error(self, entry: dict[str, Any]) -> None:
        if len(self.result.errors) < self.max_errors:
            self.result.errors.append(entry)


class UsageReporter:
    def __init__(self, database: Database, settings: Settings, stripe: StripeConnection) -> None:
        self._database = database
        self.settings = settings
        self._stripe = stripe
        # Runs over every customer in progress in this process, by a token of each. Other processes'
        # runs are no concern here: ledger claims keep any two runs from sending the same row.
        self._active: dict[object, ActiveRun] = {}

    def active_run(self) -> ActiveRun | None:
        """The oldest run over every customer in progress in this process, if any."""
        return next(iter(self._active.values()), None)

    @property
    def _stale_after(self) -> timedelta:
        return timedelta(seconds=self.settings.reporting_stale_run_seconds)

    def closed_until(self, now: datetime) -> datetime:
        """Hours before this one are closed (ended at least REPORTING_SETTLE_MINUTES ago)."""
        return hour_of(now - timedelta(minutes=self.settings.reporting_settle_minutes))

    async def stripe_config(self) -> StripeConfig:
        return await self._stripe.config()

    def gateway(self, config: StripeConfig) -> StripeGateway:
        return self._stripe.gateway_for(config, "reporting")

    async def run(
        self,
        *,
        kind: str = "hourly",
        now: datetime | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        subscription_item_ids: Sequence[str] | None = None,
        meter_id: str | None = None,
        include_open_hour: bool = False,
        progress: Progress | None = None,
        stop: asyncio.Event | None = None,
        refuse_if_busy: bool = False,
    ) -> RunResult:
        """Report usage of closed hours in [since, until) (default: the lookback window) and send what is due.

        `subscription_item_ids` limits the run to those items (the Meter Test); `include_open_hour` also
        reports the current hour so far (later usage in it becomes a correction). Setting `stop` ends the
        run early and cleanly (status `interrupted`). With `refuse_if_busy`, ReportRunInProgress (409) when
        another run over every customer is in progress in this process (checked and registered before the
        first await, so two such calls cannot both start).
        """
        now = now or utcnow()
        token = object()
        if subscription_item_ids is None:
            if refuse_if_busy and (active := self.active_run()) is not None:
                raise ReportRunInProgress(active)
            self._active[token] = ActiveRun(kind=kind, started_at=utcnow())
        try:
            return await self._run_registered(
                token,
                kind=kind,
                now=now,
                since=since,
                until=until,
                subscription_item_ids=subscription_item_ids,
                meter_id=meter_id,
                include_open_hour=include_open_hour,
                progress=progress,
                stop=stop or asyncio.Event(),
            )
        finally:
            self._active.pop(token, None)

    async def _run_registered(
        self,
        token: object,
        *,
        kind: str,
        now: datetime,
        since: datetime | None,
        until: datetime | None,
        subscription_item_ids: Sequence[str] | None,
        meter_id: str | None,
        include_open_hour: bool,
        progress: Progress | None,
        stop: asyncio.Event,
    ) -> RunResult:
        until = until or (hour_of(now) + HOUR if include_open_hour else self.closed_until(now))
        since = since or until - timedelta(hours=self.settings.reporting_lookback_hours)
        config = await self.stripe_config()
        gateway = self.gateway(config)
        run = await self._start_run(kind, config.api_version, since, until)
        if token in self._active:
            self._active[token] = ActiveRun(kind=kind, started_at=self._active[token].started_at, run_id=run)
        result = RunResult(run_id=run, status="running")
        beating = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(run, beating))
        try:
            await self._run(
                run,
                result,
                gateway,
                config,
                now,
                since,
                until,
                subscription_item_ids,
                meter_id,
                progress,
                stop,
            )
            if stop.is_set() and result.status == "running":
                result.status = "interrupted"
        except asyncio.CancelledError:
            result.status = "interrupted"
            await asyncio.shield(self._finish(run, result, now))
            raise
        except PortalError as exc:
            result.status = "failed"
            result.errors.insert(0, {"error": exc.message, "code": exc.code})
        except Exception as exc:
            result.status = "failed"
            result.errors.insert(0, {"error": f"{type(exc).__name__}: {exc}"})
            log.exception("usage_report_run_crashed", run_id=run)
            await asyncio.shield(self._finish(run, result, now))
            raise
        finally:
            # Stopped by its event and awaited, never cancelled: a cancelled query can hang aiosqlite.
            beating.set()
            await asyncio.shield(heartbeat)
        await self._finish(run, result, now)
        return result

    async def _run(
        self,
        run: str,
        result: RunResult,
        gateway: StripeGateway,
        config: StripeConfig,
        now: datetime,
        since: datetime,
        until: datetime,
        subscription_item_ids: Sequence[str] | None,
        meter_id: str | None,
        progress: Progress | None,
        stop: asyncio.Event,
    ) -> None:
        async with self._database.read() as session:
            targets = await load_targets(
                session, subscription_item_ids=subscription_item_ids, meter_id=meter_id
            )
        stale = sorted({t.stripe_subscription_id for t in targets if t.period_end <= now})
        if stale:
            failures = await refresh_subscriptions(self._database, gateway, stale)
            for subscription_id, message in failures.items():
                result.errors.append({"stripe_subscription_id": subscription_id, "error": message})
            async with self._database.read() as session:
                targets = await load_targets(
                    session, subscription_item_ids=subscription_item_ids, meter_id=meter_id
                )
        if stop.is_set():
            return
        routes = await price_routes(gateway, config.api_version, {t.price_id for t in targets})
        async with self._database.write() as session:
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PLAN_LOCK_KEY})
            plan: Plan = await Planner(
                session,
                targets,
                routes,
                since=since,
                until=until,
                run_id=run,
                subset=subscription_item_ids is not None,
            ).run()
            await write_plan(session, plan)
        result.planned = plan.to_send
        result.corrections = plan.corrections
        result.skipped = plan.skipped
        result.errors.extend(plan.errors[: self.settings.reporting_max_run_errors])
        items = list(subscription_item_ids) if subscription_item_ids is not None else None
        await self._send(run, result, gateway, items, progress, stop)

    # -- sending --------------------------------------------------------------------------------------

    async def _send(
        self,
        run: str,
        result: RunResult,
        gateway: StripeGateway,
        items: list[str] | None,
        progress: Progress | None,
        stop: asyncio.Event,
    ) -> None:
        reporting = self.settings
        retention = timedelta(hours=reporting.reporting_key_retention_hours)
        state = _SendState(result=result, max_errors=reporting.reporting_max_run_errors)
        async with self._database.write() as session:
            clock = utcnow()
            await ledger.mark_dead_runs(session, clock, self._stale_after)
            result.expired = await ledger.expire_unconfirmed(
                session,
                run,
                clock,
                retention=retention,
                stale_after=self._stale_after,
                subscription_item_ids=items,
            )
            if result.expired:
                state.error(
                    {
                        "status": ReportStatus.EXPIRED,
                        "error": f"{result.expired} report(s) attempted but not confirmed for longer than "
                        "Stripe keeps idempotency keys were not re-sent (re-sending could count twice): "
                        "compare Stripe's usage for those hours before sending them again",
                    }
                )
            state.total = await ledger.count_claimable(
                session, run, clock, stale_after=self._stale_after, subscription_item_ids=items
            )
        queue: asyncio.Queue[ClaimedRow | None] = asyncio.Queue(maxsize=reporting.reporting_concurrency * 4)
        flush_lock = asyncio.Lock()

        async def produce() -> None:
            try:
                while not stop.is_set() and state.auth_error is None:
                    async with self._database.write() as session:
                        rows = await ledger.claim(
                            session,
                            run,
                            utcnow(),
                            limit=CLAIM_CHUNK,
                            stale_after=self._stale_after,
                            subscription_item_ids=items,
                        )
                    if not rows:
                        break
                    for row in rows:
                        await queue.put(row)
            finally:
                for _ in range(reporting.reporting_concurrency):
                    await queue.put(None)

        async def work() -> None:
            while (row := await queue.get()) is not None:
                if stop.is_set() or state.auth_error is not None:
                    outcome, attempts = Outcome("retry", state.auth_error or "run stopped"), 0
                else:
                    outcome, attempts = await self._deliver(gateway, row, state, stop)
                    if outcome.verdict == "auth_failed":
                        state.auth_error = outcome.error
                state.pending.append((row, outcome, attempts))
                state.done += 1
                if progress is not None:
                    progress(state.done, max(state.total, state.done))
                if len(state.pending) >= FLUSH_EVERY:
                    async with flush_lock:
                        await self._flush(state)

        producer = asyncio.create_task(produce())
        workers = [asyncio.create_task(work()) for _ in range(reporting.reporting_concurrency)]
        try:
            await asyncio.gather(producer, *workers)
        finally:
            for task in (producer, *workers):
                task.cancel()
        async with flush_lock:
            await self._flush(state)
        if state.rejected_subscriptions and not stop.is_set():
            # Stripe refused a timestamp (our period was behind): refresh for the next run's plan.
            await refresh_subscriptions(self._database, gateway, sorted(state.rejected_subscriptions))
        if state.auth_error:
            raise StripeAuthFailed(state.auth_error)

    async def _deliver(
        self, gateway: StripeGateway, row: ClaimedRow, state: _SendState, stop: asyncio.Event
    ) -> tuple[Outcome, int]:
        reporting = self.settings
        attempts = 0
        while True:
            attempts += 1
            outcome = await send_report(gateway, row.kind, row.path, row.params, row.idempotency_key)
            if outcome.verdict != "retry" or attempts >= reporting.reporting_max_attempts or stop.is_set():
                return outcome, attempts
            state.result.retries += 1
            delay = (
                reporting.reporting_retry_base_seconds * 2 ** (attempts - 1) * (4 if outcome.throttled else 1)
            )
            pause = min(delay, reporting.reporting_retry_max_seconds) * random.uniform(0.5, 1.0)  # noqa: S311
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)  # a stop ends the back-off at once

    async def _flush(self, state: _SendState) -> None:
        batch, state.pending = state.pending, []
        if not batch:
            return
        now = utcnow()
        updates: list[dict[str, Any]] = []
        rejected_keys: list[tuple[str, str, datetime]] = []
        for row, outcome, attempts in batch:
            status = {
                "sent": ReportStatus.SENT,
                "rejected": ReportStatus.REJECTED,
            }.get(outcome.verdict, ReportStatus.FAILED)
            updates.append(
                {
                    "id": row.id,
                    "status": status,
                    "attempts": row.attempts + max(attempts - 1, 0),
                    "last_error": outcome.error,
                    "sent_at": now if status == ReportStatus.SENT else None,
                    "stripe_object_id": outcome.stripe_object_id,
                }
            )
            if status == ReportStatus.SENT:
                state.result.sent += 1
                continue
            entry = {
                "subscription_item_id": row.subscription_item_id,
                "meter_id": row.meter_id,
                "hour": row.hour.isoformat(),
                "status": status,
                "error": outcome.error,
            }
            state.error(entry)
            if status == ReportStatus.REJECTED:
                state.result.rejected += 1
                rejected_keys.append((row.subscription_item_id, row.meter_id, row.hour))
                if outcome.param == "timestamp":
                    state.rejected_subscriptions.add(row.stripe_subscription_id)
            else:
                state.result.failed += 1
        async with self._database.write() as session:
            await ledger.record_outcomes(session, updates)
            if rejected_keys:
                await restore_heads(session, rejected_keys)

    # -- run records ----------------------------------------------------------------------------------

    async def _start_run(self, kind: str, api_version: str, since: datetime, until: datetime) -> str:
        async with self._database.write() as session:
            run = ReportRun(
                kind=kind,
                status="running",
                api_version=api_version,
                range_start=since,
                range_end=until,
                errors="[]",
            )
            session.add(run)
            await session.flush()
        return run.id

    async def _heartbeat(self, run: str, done: asyncio.Event) -> None:
        """Stamp the run as alive until `done` is set; ends between beats, never in the middle of one."""
        interval = max(self.settings.reporting_stale_run_seconds / 4, 0.5)
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), interval)
            if done.is_set():
                return
            try:
                async with self._database.write() as session:
                    found = await session.get(ReportRun, run)
                    if found is not None:
                        found.heartbeat_at = utcnow()
            except Exception:
                log.warning("usage_report_heartbeat_failed", run_id=run)

    async def _finish(self, run: str, result: RunResult, now: datetime) -> None:
        if result.status == "running":
            result.status = "partial" if (result.failed or result.rejected or result.expired) else "succeeded"
        async with self._database.write() as session:
            oldest = await ledger.oldest_unconfirmed_hour(session)
            result.lag_seconds = max(int((now - oldest).total_seconds()), 0) if oldest is not None else 0
            row = await session.get(ReportRun, run)
            if row is None:
                return
            row.status = result.status
            row.finished_at = utcnow()
            row.heartbeat_at = row.finished_at
            row.planned = result.planned
            row.corrections = result.corrections
            row.sent = result.sent
            row.failed = result.failed
            row.rejected = result.rejected
            row.skipped = result.skipped
            row.retries = result.retries
            row.lag_seconds = result.lag_seconds
            row.oldest_unreported_hour = oldest
            row.errors = json.dumps(result.errors[: self.settings.reporting_max_run_errors], default=str)
        count_report_run(result.status)
        observe_report_lag(result.lag_seconds)
        log.info(
            "usage_report_run",
            run_id=run,
            status=result.status,
            planned=result.planned,
            corrections=result.corrections,
            sent=result.sent,
            failed=result.failed,
            rejected=result.rejected,
            skipped=result.skipped,
            retries=result.retries,
            lag_seconds=result.lag_seconds,
        )
