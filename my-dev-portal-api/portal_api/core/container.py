"""`Services`: the typed service container every process runs on (built by portal_api.services).

The API's lifespan, `portal-api worker` and every CLI command get one from `build_services(settings)` and
close it with `aclose()`. Request handlers read it through the one `ServicesDep` dependency (deps.py). The
component types are imported for type checking only, so this ground-floor module depends on no feature.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from portal_api.admin.tokens import AdminTokenCache
    from portal_api.billing_provider.connection import StripeConnection
    from portal_api.config import Settings
    from portal_api.core.change_relay import ChangeRelay
    from portal_api.core.changes import ChangeFeed
    from portal_api.core.jobs import JobRunner
    from portal_api.core.metrics import PortalMetrics
    from portal_api.db import Database
    from portal_api.keys.verify import KeyVerifier
    from portal_api.metering.usage.prices import PriceCache
    from portal_api.observability.health import DatabaseGauges, StripeProbe
    from portal_api.plans.service import PlanCatalog
    from portal_api.protection.client_ip import ClientAddresses
    from portal_api.protection.rate_limit import RateLimits
    from portal_api.reporting.reporter import UsageReporter
    from portal_api.security import Passwords, SessionTokens
    from portal_api.webhooks.service import WebhookInbox

log = structlog.get_logger(__name__)


@dataclass(eq=False)
class Services:
    settings: Settings
    database: Database
    changes: ChangeFeed
    passwords: Passwords
    session_tokens: SessionTokens
    stripe: StripeConnection
    key_verifier: KeyVerifier
    admin_tokens: AdminTokenCache
    plan_catalog: PlanCatalog
    webhook_inbox: WebhookInbox
    usage_reporter: UsageReporter
    usage_prices: PriceCache
    metrics: PortalMetrics
    database_gauges: DatabaseGauges
    stripe_probe: StripeProbe
    client_addresses: ClientAddresses
    rate_limits: RateLimits | None
    jobs: JobRunner
    relay: ChangeRelay | None = None
    closed: bool = field(default=False, init=False)

    async def aclose(self) -> None:
        """Stop the jobs (asking, then waiting), write what is buffered, close clients and the engine.

        Every step is bounded by SHUTDOWN_TIMEOUT_SECONDS in all, so a process always exits.
        """
        if self.closed:
            return
        self.closed = True
        timeout = self.settings.shutdown_timeout_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await self.jobs.stop(timeout=timeout)
        self.passwords.close()
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("flush_last_used", self.key_verifier.flush_last_used)
        ]
        if self.relay is not None:
            steps.append(("close_relay", self.relay.aclose))
        for name, step in (
            *steps,
            ("close_stripe", self.stripe.aclose),
            ("dispose_engine", self.database.dispose),
        ):
            left = max(deadline - loop.time(), 0.5)
            try:
                async with asyncio.timeout(left):
                    await step()
            except TimeoutError:
                log.warning("shutdown_step_timed_out", step=name, seconds=round(left, 1))
            except Exception:
                log.exception("shutdown_step_failed", step=name)
