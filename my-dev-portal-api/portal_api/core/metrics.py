"""Prometheus metrics of one app (its own CollectorRegistry) and the hooks other features call to feed them.

Each app owns a `PortalMetrics` (services.metrics), so tests that build many apps never collide in the
global registry. Code without a request or app at hand (the ingest pipeline, the usage reporter, the Stripe
gateway) calls the module-level hooks below; they update the metrics of the app handling the current request
(a contextvar set by the observability middleware) or else of the app created last in this process (the only
one in production), and do nothing when there is none (CLI commands).

Hooks for other features:
    count_usage_events(accepted=, duplicates=, rejected=, unattributed=)   metering ingest
    observe_report_lag(seconds)                                           usage reporter, after a run
    count_report_run(status)                                              usage reporter, after a run
    count_stripe_error(kind)                                              any Stripe call that failed
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Fine at the low end: a cached key verification answers in well under a millisecond.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class PortalMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_request_duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template, method and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.usage_events = Counter(
            "usage_events",
            "Usage events received by the ingest routes, by outcome: accepted, duplicate or rejected.",
            ["outcome"],
            registry=self.registry,
        )
        self.usage_events_unattributed = Counter(
            "usage_events_unattributed",
            "Accepted usage events that matched no customer (counted in usage_events_total too).",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "rate_limited_requests",
            "Requests refused with 429, by rate limit rule.",
            ["rule"],
            registry=self.registry,
        )
        self.stripe_errors = Counter(
            "stripe_errors",
            "Failed Stripe calls, by kind (SDK error class or a reporter outcome).",
            ["kind"],
            registry=self.registry,
        )
        self.report_runs = Counter(
            "usage_report_runs", "Usage report runs finished, by status.", ["status"], registry=self.registry
        )
        self.report_lag = Gauge(
            "usage_report_lag_seconds",
            "Age of the oldest closed hour whose usage Stripe has not confirmed (latest report run).",
            registry=self.registry,
        )
        self.report_last_run = Gauge(
            "usage_report_last_run_timestamp_seconds",
            "When the latest usage report run finished (unix time); alert on time() minus this.",
            registry=self.registry,
        )
        self.webhook_inbox = Gauge(
            "webhook_inbox_events",
            "Stripe webhook events in the inbox not yet applied: pending (will be retried) or failed "
            "(attempts used up).",
            ["state"],
            registry=self.registry,
        )
        self._latency_children: dict[tuple[str, str, int], Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        # Children are cached: `.labels()` takes a lock and builds a key on every call.
        key = (method if method in KNOWN_METHODS else "OTHER", route, status)
        child = self._latency_children.get(key)
        if child is None:
            child = self.http_request_duration.labels(key[0], route, str(status))
            self._latency_children[key] = child
        child.observe(seconds)


_current: ContextVar[PortalMetrics | None] = ContextVar("portal_metrics", default=None)
_process_default: PortalMetrics | None = None


def set_process_default(metrics: PortalMetrics) -> None:
    """Make `metrics` the target of hooks called outside a request (jobs, workers): the latest app wins."""
    global _process_default
    _process_default = metrics


def enter_request(metrics: PortalMetrics) -> Token[PortalMetrics | None]:
    return _current.set(metrics)


def leave_request(token: Token[PortalMetrics | None]) -> None:
    _current.reset(token)


def current_metrics() -> PortalMetrics | None:
    return _current.get() or _process_default


def count_usage_events(*, accepted: int, duplicates: int, rejected: int, unattributed: int = 0) -> None:
    metrics = current_metrics()
    if metrics is None:
        return
    for outcome, count in (("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)):
        if count:
            metrics.usage_events.labels(outcome).inc(count)
    if unattributed:
        metrics.usage_events_unattributed.inc(unattributed)


def observe_report_lag(seconds: float) -> None:
    metrics = current_metrics()
    if metrics is not None:
        metrics.report_lag.set(max(0.0, seconds))


def count_report_run(status: str) -> None:
    metrics = current_metrics()
    if metrics is not None:
        metrics.report_runs.labels(status).inc()


def count_stripe_error(kind: str) -> None:
    metrics = current_metrics()
    if metrics is not None:
        metrics.stripe_errors.labels(kind).inc()


def count_rate_limited(rule: str) -> None:
    metrics = current_metrics()
    if metrics is not None:
        metrics.rate_limited.labels(rule).inc()
