"""Metering settings (USAGE_* environment variables), kept apart from the core Settings class."""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from portal_api.config import API_DIR


class MeteringSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=API_DIR / ".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Events older than this are rejected: their hours may already be reported to Stripe.
    usage_lateness_hours: float = 72.0
    # Events stamped further ahead than this are rejected (clock skew allowance).
    usage_max_future_minutes: float = 10.0
    # Header carrying the customer's API key in captured requests (Authorization: Bearer mdp_... also works).
    usage_key_header: str = "X-Api-Key"
    # Upper bounds for one ingest request.
    usage_max_batch_events: int = 10_000
    usage_max_body_bytes: int = 32 * 1024 * 1024
    # When a meter is created or its filters change, rollups are rebuilt from raw events this far back.
    usage_rebuild_days: int = 93
    usage_rebuild_batch_size: int = 5_000
    # How long a Stripe price looked up for usage estimates is reused.
    usage_price_cache_seconds: float = 300.0


def metering_settings(state: Any) -> MeteringSettings:
    """The app's MeteringSettings (app.state.metering_settings), created from the environment on first use."""
    found = getattr(state, "metering_settings", None)
    if found is None:
        found = MeteringSettings()
        state.metering_settings = found
    return found
