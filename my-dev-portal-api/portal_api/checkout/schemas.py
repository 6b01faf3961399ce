"""Request and response bodies for starting and completing a subscription checkout."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from portal_api.checkout.service import Provisioned


class CheckoutStart(BaseModel):
    price_id: str = Field(min_length=1, max_length=255)


class CheckoutSessionOut(BaseModel):
    id: str
    url: str


class CustomerOut(BaseModel):
    id: str
    email: str | None
    name: str | None


class ItemOut(BaseModel):
    id: str
    price: str
    product: str | None


class ProvisionedSubscriptionOut(BaseModel):
    id: str
    status: str
    current_period_start: datetime | None
    current_period_end: datetime | None
    items: list[ItemOut]


class NewKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    secret: str = Field(description="Shown in this one response only; store it now.")


class CheckoutCompleted(BaseModel):
    customer: CustomerOut | None
    subscription: ProvisionedSubscriptionOut | None
    keys_created: int
    key: NewKeyOut | None

    @classmethod
    def from_result(cls, result: Provisioned) -> CheckoutCompleted:
        customer, subscription = result.customer, result.subscription
        return cls(
            customer=CustomerOut(id=customer.stripe_customer_id, email=customer.email, name=customer.name)
            if customer
            else None,
            subscription=ProvisionedSubscriptionOut(
                id=subscription.stripe_subscription_id,
                status=subscription.status,
                current_period_start=subscription.current_period_start,
                current_period_end=subscription.current_period_end,
                items=[
                    ItemOut(id=item.stripe_item_id, price=item.price_id, product=item.product_id)
                    for item in subscription.items
                ],
            )
            if subscription
            else None,
            keys_created=result.checkout.keys_created,
            key=NewKeyOut(
                id=result.key.id, name=result.key.name, prefix=result.key.prefix, secret=result.secret
            )
            if result.key and result.secret
            else None,
        )
