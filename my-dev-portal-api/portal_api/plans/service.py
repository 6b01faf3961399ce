"""The plan catalog: active recurring Stripe prices shaped for the pricing page, cached briefly in-process.

Whether the portal meters a price (`metered_by_portal`) is not cached with the Stripe listing: it is read
on every listing through a callback the wiring hands down (metering sits above plans).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from portal_api.billing_provider.connection import StripeConnection
from portal_api.plans.schemas import Plan, Tier, TransformQuantity


def plan_from_price(price: dict[str, Any]) -> Plan:
    """One Stripe price (product expanded, tiers included) as a Plan."""
    product = price.get("product")
    product = product if isinstance(product, dict) else {"id": product}
    recurring = price.get("recurring") or {}
    transform = price.get("transform_quantity")
    tiers = price.get("tiers")
    return Plan(
        price_id=price["id"],
        product_id=product["id"],
        product_name=product.get("name"),
        product_description=product.get("description"),
        nickname=price.get("nickname"),
        lookup_key=price.get("lookup_key"),
        currency=price["currency"],
        unit_amount=price.get("unit_amount"),
        unit_amount_decimal=_decimal(price.get("unit_amount_decimal")),
        billing_scheme=price.get("billing_scheme") or "per_unit",
        tiers=[
            Tier(
                up_to=tier.get("up_to") if tier.get("up_to") != "inf" else None,
                unit_amount=tier.get("unit_amount"),
                unit_amount_decimal=_decimal(tier.get("unit_amount_decimal")),
                flat_amount=tier.get("flat_amount"),
            )
            for tier in tiers
        ]
        if tiers
        else None,
        tiers_mode=price.get("tiers_mode"),
        transform_quantity=TransformQuantity(divide_by=transform["divide_by"], round=transform["round"])
        if transform
        else None,
        interval=recurring.get("interval") or "month",
        interval_count=recurring.get("interval_count") or 1,
        usage_type=recurring.get("usage_type") or "licensed",
        aggregate_usage=recurring.get("aggregate_usage"),
        meter=recurring.get("meter"),
    )


def _decimal(value: object) -> str | None:
    return None if value is None else str(value)


_INTERVAL_ORDER = {"day": 0, "week": 1, "month": 2, "year": 3}


def _sort_key(plan: Plan) -> tuple[Any, ...]:
    """By product, interval, what the first unit costs (free plans first), then flat before metered."""
    if plan.unit_amount is not None:
        amount = plan.unit_amount
    elif plan.tiers:
        first = plan.tiers[0]
        amount = (first.flat_amount or 0) + (first.unit_amount or 0)
    else:
        amount = 0
    return (
        (plan.product_name or "").lower(),
        plan.product_id,
        _INTERVAL_ORDER.get(plan.interval, 9),
        plan.interval_count,
        plan.currency,
        amount,
        plan.usage_type != "licensed",  # a flat plan before a metered one of the same starting price
        (plan.nickname or "").lower(),
        plan.price_id,
    )


# The Stripe prices an active meter bills.
MeteredPrices = Callable[[], Awaitable[set[str]]]


class PlanCatalog:
    """Caches the shaped plan list for `ttl_seconds` per Stripe configuration (a key or version saved in the
    console lists the new account's plans at once); concurrent misses share one Stripe listing."""

    def __init__(
        self,
        stripe: StripeConnection,
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        metered_prices: MeteredPrices | None = None,
    ) -> None:
        self._stripe = stripe
        self._metered_prices = metered_prices
        self._ttl = ttl_seconds
        self._clock = clock
        self._plans: list[Plan] | None = None
        self._fingerprint = ""
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def _fresh(self, fingerprint: str) -> list[Plan] | None:
        if (
            self._plans is not None
            and self._fingerprint == fingerprint
            and self._clock() - self._loaded_at < self._ttl
        ):
            return self._plans
        return None

    async def plans(self) -> list[Plan]:
        config = await self._stripe.config()
        cached = self._fresh(config.fingerprint)
        if cached is not None:
            return cached
        async with self._lock:
            cached = self._fresh(config.fingerprint)
            if cached is not None:
                return cached
            prices = await self._stripe.gateway_for(config).list_plans()
            plans = sorted((plan_from_price(p) for p in prices), key=_sort_key)
            self._plans, self._fingerprint, self._loaded_at = plans, config.fingerprint, self._clock()
            return plans

    async def listing(self) -> list[Plan]:
        """The plans as GET /v1/plans lists them: `metered_by_portal` says which metered ones bill usage."""
        plans = await self.plans()
        metered = await self._metered_prices() if self._metered_prices is not None else set()
        return [
            plan.model_copy(
                update={"metered_by_portal": plan.usage_type == "metered" and plan.price_id in metered}
            )
            for plan in plans
        ]

    def invalidate(self) -> None:
        self._plans = None
