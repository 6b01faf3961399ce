"""HTTP routes for the signed-in user's subscription and the Stripe billing portal."""

from __future__ import annotations

from fastapi import APIRouter

from portal_api.accounts.deps import CurrentUser
from portal_api.billing import service
from portal_api.billing.schemas import BillingPortalOut, SubscriptionOut
from portal_api.deps import ReadSession, ServicesDep
from portal_api.errors import NotFound

router = APIRouter(tags=["billing"])


@router.get("/subscription")
async def get_subscription(user: CurrentUser, session: ReadSession) -> SubscriptionOut:
    subscription = await service.current_subscription(session, user.id)
    if subscription is None:
        raise NotFound("You have no subscription yet; choose a plan first", code="no_subscription")
    return SubscriptionOut.from_model(subscription)


@router.post("/billing-portal")
async def open_billing_portal(user: CurrentUser, services: ServicesDep) -> BillingPortalOut:
    url = await service.billing_portal_url(
        services.database,
        await services.stripe.gateway(),
        user=user,
        return_url=f"{services.settings.portal_url}/dashboard",
    )
    return BillingPortalOut(url=url)
