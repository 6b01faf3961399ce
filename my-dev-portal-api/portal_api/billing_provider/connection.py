"""`StripeConnection`: the one Stripe configuration in force in this process, and gateways for it.

Everything that talks to Stripe asks this object: `gateway()` before a call, `webhook_secrets()` to verify a
delivery. The configuration is read from the billing provider settings row and kept for
STRIPE_CONFIG_REFRESH_SECONDS, so a change saved in the console (in any process) is used everywhere within
seconds; in the saving process at once, through the change feed. Gateways are pooled per (configuration,
purpose) and closed at shutdown; one replaced by a key change is kept until then (calls may be in flight).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from portal_api.billing_provider import service
from portal_api.billing_provider.config import Purpose, StripeConfig, config_from_row
from portal_api.config import Settings
from portal_api.core.changes import ChangeFeed
from portal_api.db import Database, utcnow
from portal_api.stripe_client import GatewayOptions, StripeGateway

MAX_GATEWAYS = 8


class StripeConnection:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        changes: ChangeFeed,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._database = database
        self._clock = clock
        self._refresh_seconds = settings.stripe_config_refresh_seconds
        self._config: StripeConfig | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._gateways: dict[GatewayOptions, StripeGateway] = {}
        self._retired: list[StripeGateway] = []
        changes.subscribe("billing_provider", self.forget)

    def forget(self, _: str = "") -> None:
        """Re-read the configuration on next use (the console saved a change)."""
        self._loaded_at = float("-inf")

    async def seed(self) -> None:
        """Write the STRIPE_* environment into the stored settings where it applies (start-up)."""
        async with self._database.write() as session:
            await service.seed_from_environment(session, self._settings)
        self.forget()

    async def config(self) -> StripeConfig:
        """The configuration in force (re-read when older than STRIPE_CONFIG_REFRESH_SECONDS)."""
        config = self._config
        if config is not None and self._clock() - self._loaded_at < self._refresh_seconds:
            return config
        async with self._lock:
            if self._config is not None and self._clock() - self._loaded_at < self._refresh_seconds:
                return self._config
            started = self._clock()
            async with self._database.read() as session:
                row = await service.stored_config(session)
            self._config = config_from_row(row, self._settings)
            self._loaded_at = started
            return self._config

    async def gateway(self, purpose: Purpose = "api") -> StripeGateway:
        return self.gateway_for(await self.config(), purpose)

    def gateway_for(self, config: StripeConfig, purpose: Purpose = "api") -> StripeGateway:
        options = config.gateway_options(self._settings, purpose)
        gateway = self._gateways.get(options)
        if gateway is None:
            gateway = StripeGateway(options)
            if len(self._gateways) >= MAX_GATEWAYS:
                oldest = next(iter(self._gateways))
                self._retired.append(self._gateways.pop(oldest))
            self._gateways[options] = gateway
        return gateway

    async def webhook_secrets(self) -> list[str]:
        return (await self.config()).webhook_secrets(utcnow())

    async def aclose(self) -> None:
        gateways = [*self._gateways.values(), *self._retired]
        self._gateways.clear()
        self._retired.clear()
        await asyncio.gather(*(g.aclose() for g in gateways), return_exceptions=True)
