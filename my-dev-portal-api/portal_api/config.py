"""Settings read from the environment and my-dev-portal-api/.env; one cached get_settings()."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

API_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
LOOPBACK = ("127.0.0.1", "::1")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=API_DIR / ".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    environment: Literal["development", "test", "production"] = "development"
    # Stripe: an empty STRIPE_API_BASE means real Stripe; the emulator sets it to its own URL.
    stripe_api_key: SecretStr = SecretStr("sk_test_emulator")
    stripe_api_base: str = ""
    stripe_api_version: str = "2020-08-27"
    stripe_webhook_secret: SecretStr = SecretStr("")
    stripe_timeout_seconds: float = 20.0
    stripe_max_retries: int = 2
    # The STRIPE_* values above seed the billing provider settings at first start; from then on those (saved
    # in the console, stored encrypted) are the one Stripe configuration. Each process re-reads them this
    # often, so a change saved in the console applies everywhere within seconds.
    stripe_config_refresh_seconds: float = 2.0
    # After the webhook signing secret is replaced, deliveries signed with the previous one are accepted for
    # this long (Stripe signs with both while a rolled secret expires; its longest choice is 24 hours).
    stripe_webhook_secret_grace_hours: float = 24.0

    database_url: str = "sqlite+aiosqlite:///./portal.db"
    database_echo: bool = False
    run_migrations_on_start: bool = True
    # What happens when a task waits on the network (Stripe, a request body) with a database transaction
    # open: log a warning, raise (the test suite), or nothing. See portal_api/core/transactions.py.
    db_transaction_guard: Literal["off", "log", "raise"] = "log"
    # Upper bound on a process's shutdown: background jobs are asked to stop, then abandoned after this.
    shutdown_timeout_seconds: float = 10.0

    portal_url: str = "http://localhost:3000"
    api_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)

    session_ttl_hours: int = 24 * 14
    session_cookie_name: str = "mdp_session"
    cookie_secure: bool = False
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    # Password hashes are computed in this many worker threads of the lowest CPU priority (argon2 releases
    # the GIL), so logins never stall the event loop (key verification, ingest). Default: one per CPU but
    # one, which is left to the event loop (measured: two threads on two CPUs log in no faster than one).
    password_hash_threads: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) - 1))
    password_min_length: int = 10

    # API keys: mdp_live_/mdp_test_ prefix follows the Stripe key's mode unless set.
    api_key_mode: Literal["live", "test"] | None = None
    key_rotation_grace_hours: float = 24.0
    past_due_grace_hours: float = 72.0
    key_verify_cache_seconds: float = 30.0
    key_verify_cache_size: int = 100_000

    plans_cache_seconds: float = 60.0

    # Background jobs (webhook inbox retries, later usage reporting) run inside the API process unless a
    # separate worker runs them; tests turn this off and call the job functions directly.
    run_jobs_in_process: bool = True
    webhook_retry_interval_seconds: float = 30.0
    webhook_max_attempts: int = 12

    admin_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)
    admin_bootstrap_email: str = ""
    admin_bootstrap_password: SecretStr = SecretStr("")
    admin_bootstrap_token: SecretStr = SecretStr("")
    # Scopes of ADMIN_BOOTSTRAP_TOKEN (admin, verify, ingest); a gateway's token needs verify + ingest only.
    admin_bootstrap_token_scopes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["admin", "verify", "ingest"]
    )
    # A second bootstrap token for the API gateway, scoped verify + ingest (what `make run` prints).
    gateway_bootstrap_token: SecretStr = SecretStr("")

    log_level: str = "INFO"
    log_json: bool = True
    # One JSON line per request (method, route template, status, duration); off leaves only app events.
    access_log: bool = True

    # Hardening (see portal_api/protection and portal_api/observability).
    # GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` when set; open when empty, which
    # ENVIRONMENT=production refuses unless METRICS_PUBLIC=true says so on purpose.
    metrics_token: SecretStr = SecretStr("")
    metrics_public: bool = False
    metrics_enabled: bool = True
    # Database-derived gauges (webhook inbox depth, report lag) are recomputed at most this often on scrape.
    metrics_db_refresh_seconds: float = 5.0
    # How long GET /v1/admin/health reuses its Stripe reachability answer.
    health_stripe_cache_seconds: float = 60.0
    # Request bodies above this are refused with 413 (the ingest routes use USAGE_MAX_BODY_BYTES instead).
    max_body_bytes: int = 1024 * 1024
    # Addresses or CIDR networks of reverse proxies (and the portal server) whose X-Forwarded-For is believed;
    # empty to believe no one. Unset: loopback in development and test (the portal on the same host), no one
    # in production (list your proxies: a client on the proxy's host could otherwise pick its own address).
    trusted_proxies: Annotated[list[str] | None, NoDecode] = None
    # Origins besides PORTAL_URL and API_URL allowed to make cookie-authenticated writes (CSRF check).
    csrf_trusted_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Redis (redis://host:6379/0), optional: when set, every process shares rate limit counters through it
    # and cache invalidations (revoked keys, saved Stripe settings) travel over its pub/sub; without it,
    # PostgreSQL's LISTEN/NOTIFY carries the invalidations (SQLite runs one process and needs neither).
    redis_url: str = ""
    # Rate limits in `limits` notation ("10/minute", several with ";"); an empty value turns one off.
    rate_limit_enabled: bool = True
    # Where counters live: memory:// (per process; Redis when REDIS_URL is set) or a `limits` async storage
    # URI (async+redis://host:6379).
    rate_limit_storage_uri: str = "memory://"
    rate_limit_login: str = "10/minute;100/hour"  # per client IP
    rate_limit_signup: str = "10/minute;50/hour"  # per client IP
    rate_limit_verify: str = "100000/minute"  # per admin API token; the gateway's hot path
    rate_limit_ingest: str = "12000/minute"  # per collector token / admin token (each call is a batch)
    # Sent as Strict-Transport-Security when COOKIE_SECURE is on or API_URL is https (0 disables).
    hsts_max_age_seconds: int = 31_536_000

    # -- metering (USAGE_*) ----------------------------------------------------------------------------
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

    # -- usage reporting (REPORTING_*) -----------------------------------------------------------------
    # The hourly job; off means usage is reported only on demand (Report now, `portal-api report`, backfill).
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

    @field_validator("admin_emails", mode="before")
    @classmethod
    def _split_emails(cls, value: object) -> object:
        if isinstance(value, str):
            return [e.strip().lower() for e in value.split(",") if e.strip()]
        return value

    @field_validator("trusted_proxies", "csrf_trusted_origins", "admin_bootstrap_token_scopes", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def key_mode(self) -> Literal["live", "test"]:
        if self.api_key_mode:
            return self.api_key_mode
        return "live" if self.stripe_api_key.get_secret_value().startswith(("sk_live", "rk_live")) else "test"

    @property
    def forwarding_proxies(self) -> list[str]:
        """The proxies whose X-Forwarded-For is believed (see TRUSTED_PROXIES)."""
        if self.trusted_proxies is not None:
            return self.trusted_proxies
        return [] if self.environment == "production" else list(LOOPBACK)

    def production_problems(self) -> list[str]:
        """What makes these settings unsafe to serve in production (empty outside ENVIRONMENT=production)."""
        if self.environment != "production":
            return []
        problems = []
        if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
            problems.append("SECRET_KEY must be set to a random value")
        if self.metrics_enabled and not self.metrics_token.get_secret_value() and not self.metrics_public:
            problems.append(
                "GET /metrics would be open to anyone: set METRICS_TOKEN (scrapers send it as a Bearer "
                "token), or METRICS_PUBLIC=true to serve it openly on purpose, or METRICS_ENABLED=false"
            )
        if self.portal_url.lower().startswith("https://") and not self.cookie_secure:
            problems.append("PORTAL_URL is https, so COOKIE_SECURE must be true (cookies over TLS only)")
        return problems

    def check_production_ready(self) -> None:
        """Refuse to start in production with unsafe settings, saying what to change."""
        problems = self.production_problems()
        if problems:
            raise RuntimeError("Refusing to start with ENVIRONMENT=production: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    return Settings()
