"""HTTP routes to start a subscription checkout and to complete it from the return page.

Both wait on Stripe, so neither takes the request's write session: the services run read -> Stripe -> write
phases on the Database, no transaction open while Stripe answers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from portal_api.accounts.deps import CurrentUser
from portal_api.checkout import service
from portal_api.checkout.schemas import CheckoutCompleted, CheckoutSessionOut, CheckoutStart
from portal_api.deps import ServicesDep

router = APIRouter(prefix="/checkout", tags=["checkout"])


@router.post("/sessions")
async def start_checkout(
    body: CheckoutStart,
    user: CurrentUser,
    services: ServicesDep,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> CheckoutSessionOut:
    """A Stripe-hosted checkout for `price_id`. Send the same Idempotency-Key to get the same session back."""
    checkout_session = await service.start_checkout(
        services.database,
        await services.stripe.gateway(),
        services.settings,
        user=user,
        price_id=body.price_id,
        attempt=idempotency_key,
    )
    return CheckoutSessionOut(id=checkout_session["id"], url=checkout_session["url"])


@router.post("/sessions/{checkout_session_id}/complete")
async def complete_checkout(
    checkout_session_id: str, user: CurrentUser, services: ServicesDep
) -> CheckoutCompleted:
    """Link the paid checkout to the signed-in user and issue the first API key; safe to call again."""
    result = await service.complete_checkout(
        services.database,
        await services.stripe.gateway(),
        services.settings,
        user=user,
        checkout_session_id=checkout_session_id,
    )
    return CheckoutCompleted.from_result(result)
