"""Response bodies for the user's subscription and the billing portal link."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from portal_api.billing.models import Subscription


class SubscriptionItemOut(BaseModel):
    id: str
    price: str
    product: str | None
    usage_type: str | None


class PlanRef(BaseModel):
    price_id: str | None
    nickname: str | None
    product_name: str | None


class SubscriptionOut(BaseModel):
    id: str
    status: str
    plan: PlanRef
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    items: list[SubscriptionItemOut]

    @classmethod
    def from_model(cls, row: Subscription) -> SubscriptionOut:
        return cls(
            id=row.stripe_subscription_id,
            status=row.status,
            plan=PlanRef(price_id=row.price_id, nickname=row.plan_nickname, product_name=row.product_name),
            current_period_start=row.current_period_start,
            current_period_end=row.current_period_end,
            cancel_at_period_end=row.cancel_at_period_end,
            canceled_at=row.canceled_at,
            items=[
                SubscriptionItemOut(
                    id=item.stripe_item_id,
                    price=item.price_id,
                    product=item.product_id,
                    usage_type=item.usage_type,
                )
                for item in row.items
            ],
        )


class BillingPortalOut(BaseModel):
    url: str
