"""Reporting settings (REPORTING_* environment variables), kept apart from the core Settings class."""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from portal_api.config import API_DIR


class ReportingSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=API_DIR / ".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # The hourly job; off means usage is only reported by `portal-api backfill` or the Meter Test.
    reporting_enabled: bool = True
    # Minute past each hour the job runs (the worker also runs once shortly after it starts).
    reporting_cron_minute: int = 5
    # An hour is reported once it ended this long ago, so events in flight are in; later ones are corrections.
    reporting_settle_minutes: float = 2.0
    # How far back each run looks for new and late usage (ingest accepts events up to USAGE_LATENESS_HOURS).
    reporting_lookback_hours: int = 74
    # Stripe calls in flight at once, and the timeout of each.
    reporting_concurrency: int = 16
    reporting_stripe_timeout_seconds: float = 15.0
    # Attempts per report within one run (5xx, timeouts, 429); a report still failing waits for the next run.
    reporting_max_attempts: int = 6
    reporting_retry_base_seconds: float = 0.5
    reporting_retry_max_seconds: float = 30.0
    # Stripe keeps idempotency keys (and meter event identifiers) for 24 h: a report attempted but not
    # confirmed for longer is not re-sent automatically (it is marked expired and shown in the run errors).
    reporting_key_retention_hours: float = 23.0
    # A run without a heartbeat for this long is considered dead; its claimed reports are retried.
    reporting_stale_run_seconds: float = 120.0
    reporting_max_run_errors: int = 50


def reporting_settings(state: Any) -> ReportingSettings:
    """The app's ReportingSettings (app.state.reporting_settings), read from the environment on first use."""
    found = getattr(state, "reporting_settings", None)
    if found is None:
        found = ReportingSettings()
        state.reporting_settings = found
    return found
