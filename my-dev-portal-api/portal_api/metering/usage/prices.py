"""`PriceCache`: Stripe prices for usage estimates, kept for USAGE_PRICE_CACHE_SECONDS (per process)."""

from __future__ import annotations

import time
from typing import Any

import structlog

from portal_api.billing_provider.connection import StripeConnection
from portal_api.errors import PortalError

log = structlog.get_logger(__name__)


class PriceCache:
    def __init__(self) -> None:
        self._prices: dict[tuple[str, str], tuple[dict[str, Any], float]] = {}

    async def get(self, stripe: StripeConnection, price_id: str, ttl: float) -> dict[str, Any] | None:
        """The price (per Stripe account and version), or the last one seen when Stripe fails, or None."""
        config = await stripe.config()
        key = (config.fingerprint, price_id)
        found = self._prices.get(key)
        if found and time.monotonic() - found[1] < ttl:
            return found[0]
        try:
            price: dict[str, Any] = await stripe.gateway_for(config).retrieve_price(price_id)
        except PortalError as exc:
            log.warning("usage_price_unavailable", price_id=price_id, code=exc.code)
            return found[0] if found else None
        self._prices[key] = (price, time.monotonic())
        return price
