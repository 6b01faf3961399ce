"""StripeGateway instances for the effective configuration, one per (account, version, purpose), reused.

The app-wide `app.state.stripe` gateway is built from Settings only; reporting, the Meter Test and invoice
previews ask this pool instead, so a key or version changed in the admin settings is used on the next call.
Reporting gets its own gateway without SDK retries: the reporter retries itself, with the same key.
"""

from __future__ import annotations

import asyncio

from portal_api.billing_provider.config import StripeConfig
from portal_api.config import Settings
from portal_api.stripe_client import StripeGateway

MAX_GATEWAYS = 8


class StripeGateways:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._gateways: dict[tuple[str, float | None, int | None], StripeGateway] = {}
        self._retired: list[StripeGateway] = []

    def get(
        self, config: StripeConfig, *, timeout_seconds: float | None = None, max_retries: int | None = None
    ) -> StripeGateway:
        key = (config.fingerprint, timeout_seconds, max_retries)
        gateway = self._gateways.get(key)
        if gateway is None:
            overrides: dict[str, object] = {}
            if timeout_seconds is not None:
                overrides["stripe_timeout_seconds"] = timeout_seconds
            if max_retries is not None:
                overrides["stripe_max_retries"] = max_retries
            gateway = StripeGateway(config.as_settings(self._settings, **overrides))
            if len(self._gateways) >= MAX_GATEWAYS:
                # A key changed many times: keep the old clients until shutdown (calls may be in flight).
                oldest = next(iter(self._gateways))
                self._retired.append(self._gateways.pop(oldest))
            self._gateways[key] = gateway
        return gateway

    async def aclose(self) -> None:
        gateways = [*self._gateways.values(), *self._retired]
        self._gateways.clear()
        self._retired.clear()
        await asyncio.gather(*(g.aclose() for g in gateways), return_exceptions=True)
