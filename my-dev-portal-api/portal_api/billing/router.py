"""HTTP routes for the signed-in user's subscription: read it, switch its plan (with a preview of Stripe's
proration), cancel it at the period end or resume it, and open Stripe's billing portal.

Every route but GET /v1/subscription waits on Stripe, so none takes the request's write session: the
services run read -> Stripe -> write phases on the Database (billing/plan_changes.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header

from portal_api.accounts.deps import CurrentUser
from portal_api.billing import plan_changes, service
from portal_api.billing.schemas import (
    BillingPortalIn,
    BillingPortalOut,
    PlanChangeIn,
    PlanChangePreviewIn,
    PlanChangePreviewOut,
    SubscriptionOut,
)
from portal_api.deps import ReadSession, ServicesDep
from portal_api.errors import NotFound

router = APIRouter(tags=["billing"])

IdempotencyKey = Annotated[str | None, Header(max_length=100)]


@router.get("/subscription")
async def get_subscription(user: CurrentUser, session: ReadSession) -> SubscriptionOut:
    subscription = await service.current_subscription(session, user.id)
    if subscription is None:
        raise NotFound("You have no subscription yet; choose a plan first", code="no_subscription")
    return SubscriptionOut.from_model(subscription)


@router.post("/subscription/change/preview")
async def preview_plan_change(
    body: PlanChangePreviewIn, user: CurrentUser, services: ServicesDep
) -> PlanChangePreviewOut:
    """What switching to `price_id` costs: Stripe's invoice preview of the switch (its proration lines and
    the invoice they land on), and a `preview_token` that bills the switch as shown."""
    preview = await plan_changes.preview_change(
        services.database,
        await services.stripe.gateway(),
        services.settings,
        user=user,
        price_id=body.price_id,
        proration=body.proration,
    )
    return PlanChangePreviewOut.from_preview(preview)


@router.post("/subscription/change")
async def change_plan(
    body: PlanChangeIn, user: CurrentUser, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> SubscriptionOut:
    """Switch the subscription to `price_id` now (Stripe swaps the price of its item). Upgrades and
    downgrades alike; Stripe prorates as `proration` says. Send the same Idempotency-Key to retry safely."""
    subscription = await plan_changes.change_plan(
        services.database,
        await services.stripe.gateway(),
        services.settings,
        user=user,
        price_id=body.price_id,
        proration=body.proration,
        preview_token=body.preview_token,
        attempt=idempotency_key,
    )
    return SubscriptionOut.from_model(subscription)


@router.post("/subscription/cancel")
async def cancel_at_period_end(
    user: CurrentUser, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> SubscriptionOut:
    """Cancel at the end of the current period: the plan stays until then, and is not renewed."""
    subscription = await plan_changes.set_cancel_at_period_end(
        services.database, await services.stripe.gateway(), user=user, cancel=True, attempt=idempotency_key
    )
    return SubscriptionOut.from_model(subscription)


@router.post("/subscription/resume")
async def resume(
    user: CurrentUser, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> SubscriptionOut:
    """Take back a cancellation at period end: the subscription renews as before."""
    subscription = await plan_changes.set_cancel_at_period_end(
        services.database, await services.stripe.gateway(), user=user, cancel=False, attempt=idempotency_key
    )
    return SubscriptionOut.from_model(subscription)


@router.post("/billing-portal")
async def open_billing_portal(
    user: CurrentUser, services: ServicesDep, body: Annotated[BillingPortalIn | None, Body()] = None
) -> BillingPortalOut:
    """Stripe's billing portal for the user's customer; `flow: subscription_update` opens it on switching
    the plan of the current subscription."""
    gateway = await services.stripe.gateway()
    return_url = f"{services.settings.portal_url}/dashboard"
    if body is not None and body.flow == "subscription_update":
        url = await plan_changes.plan_switch_portal_url(
            services.database, gateway, user=user, return_url=return_url
        )
    else:
        url = await service.billing_portal_url(services.database, gateway, user=user, return_url=return_url)
    return BillingPortalOut(url=url)
