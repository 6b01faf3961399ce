"""Tables for usage reporting: the report ledger, the reported state per hour, and report runs.

- `usage_reports` (the ledger): one row per (subscription item, meter, hour, revision), committed BEFORE the
  Stripe call, carrying the exact request (path, params) and its idempotency key, so a retry after a crash,
  a 5xx or a timeout repeats the very same request. Revision 0 is the first report of an hour; later
  revisions are corrections (late usage). Rows are never deleted.
- `usage_reported_hours`: per (subscription item, meter, hour), what Stripe holds (or is being sent) for that
  hour and the rollup value it was computed from; the planner's reads (changed_hours.py) compare it with
  the rollups to find new and late usage in one query.
- `usage_report_runs`: every run of the reporter (hourly, backfill, meter test) for the admin console.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal_api.db import Base, UTCDateTime, new_id, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
LedgerId = BigInteger().with_variant(Integer(), "sqlite")


class ReportStatus:
    PENDING = "pending"  # planned and committed, never sent
    SENDING = "sending"  # claimed by a run; retried with the same key if that run died
    SENT = "sent"  # Stripe accepted it (or had it already: idempotent replay, duplicate identifier)
    FAILED = "failed"  # retryable failures used up this run's attempts; the next run retries
    REJECTED = "rejected"  # Stripe refused it for good (4xx); not applied, a later revision may replace it
    SKIPPED = "skipped"  # nothing to send (see last_error: closed period, decrease...)
    EXPIRED = "expired"  # attempted but unconfirmed for longer than Stripe keeps idempotency keys

    UNFINISHED = (PENDING, SENDING, FAILED)
    # Rows that do (or will) count in Stripe.
    EFFECTIVE = (PENDING, SENDING, SENT, FAILED, EXPIRED)


class UsageReport(Base):
    __tablename__ = "usage_reports"
    __table_args__ = (
        UniqueConstraint("subscription_item_id", "meter_id", "hour", "revision", name="uq_usage_reports_key"),
        Index("ix_usage_reports_status", "status"),
        Index("ix_usage_reports_item_hour", "subscription_item_id", "hour"),
    )

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    subscription_item_id: Mapped[str] = mapped_column(String(255))  # Stripe si_...
    meter_id: Mapped[str] = mapped_column(String(40))
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(String(40), index=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255))
    stripe_subscription_id: Mapped[str] = mapped_column(String(255))
    # usage_record (legacy, before 2025-03-31.basil) | meter_event (Billing Meters)
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # increment | set
    # What this revision sends, in thousandths (usage records carry whole units: a multiple of 1000).
    quantity_milli: Mapped[int] = mapped_column(BigInteger)
    # The hour's value in Stripe once this revision is applied (sum: the hour's total; set: the value).
    target_milli: Mapped[int] = mapped_column(BigInteger)
    # The rollup value this revision was computed from.
    value_milli: Mapped[int] = mapped_column(BigInteger)
    # Unix seconds stamped on the record/event: the hour's start, moved up to the period start when the
    # hour began before it (see report_decisions.py).
    report_timestamp: Mapped[int] = mapped_column(BigInteger)
    carried: Mapped[bool] = mapped_column(default=False)
    path: Mapped[str] = mapped_column(String(255))
    params: Mapped[str] = mapped_column(Text)  # JSON, sent byte-for-byte the same on every attempt
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stripe_object_id: Mapped[str | None] = mapped_column(String(255))


class ReportedHour(Base):
    __tablename__ = "usage_reported_hours"

    subscription_item_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    meter_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)  # the highest revision used so far
    value_milli: Mapped[int] = mapped_column(BigInteger)
    target_milli: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportRun(Base):
    __tablename__ = "usage_report_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rrun"))
    kind: Mapped[str] = mapped_column(String(16))  # hourly | backfill | meter_test | manual
    # running | succeeded | partial (some rows failed, retried next run) | failed | interrupted | skipped
    status: Mapped[str] = mapped_column(String(16), index=True)
    api_version: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    range_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    range_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    planned: Mapped[int] = mapped_column(Integer, default=0)
    corrections: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    # now - the oldest closed hour whose usage Stripe has not confirmed yet, when the run ended.
    lag_seconds: Mapped[int | None] = mapped_column(Integer)
    oldest_unreported_hour: Mapped[datetime | None] = mapped_column(UTCDateTime)
    errors: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, the first REPORTING_MAX_RUN_ERRORS
