"""Bodies of the user's subscription, its plan changes (switch, preview, cancel, resume), billing portal."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from portal_api.billing.models import Subscription
from portal_api.billing.plan_changes import ChangePreview, Proration

PRORATION_HELP = (
    "How Stripe bills the switch for the rest of the period: create_prorations (default: a credit for the "
    "unused time on the current plan and a charge for the remaining time on the new one, on the next "
    "invoice), always_invoice (the same, invoiced and charged now), none (the new price from the next "
    "period on)"
)


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
    # When the subscription ends, if it is set to (the period end when canceling at period end).
    cancel_at: datetime | None
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
            cancel_at=row.cancel_at
            or (row.current_period_end if row.cancel_at_period_end and row.status != "canceled" else None),
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


class BillingPortalIn(BaseModel):
    flow: Literal["subscription_update"] | None = Field(
        default=None,
        description="Open the portal on a flow: subscription_update is Stripe's plan switching for the "
        "current subscription, returning to the dashboard when done",
    )


class PlanChangePreviewIn(BaseModel):
    price_id: str = Field(min_length=1, max_length=255, description="The plan (Stripe price) to switch to")
    proration: Proration = Field(default="create_prorations", description=PRORATION_HELP)


class PlanChangeIn(PlanChangePreviewIn):
    preview_token: str | None = Field(
        default=None,
        max_length=2000,
        description="From POST /v1/subscription/change/preview (valid 15 minutes): the switch is then billed "
        "exactly as that preview showed. Without it Stripe prorates as of the moment it makes the switch",
    )


class PreviewLineOut(BaseModel):
    description: str | None
    amount: int = Field(description="Minor units of the currency; negative for a credit")
    proration: bool
    period_start: datetime | None
    period_end: datetime | None


class PlanChangePreviewOut(BaseModel):
    subscription_id: str
    from_price_id: str
    price_id: str
    proration: Proration
    currency: str
    proration_date: datetime | None = Field(description="The moment Stripe prorates the switch as of")
    proration_amount: int = Field(
        description="Stripe's proration lines summed: charge for the new plan's remaining time minus the "
        "credit for the current plan's unused time (negative: a credit)"
    )
    invoice_now: bool = Field(description="True: Stripe invoices the switch at once (always_invoice)")
    invoice_amount_due: int = Field(
        description="What the invoice the switch lands on asks for: the one made now (invoice_now), else the "
        "next one, at the period end, with the proration on it"
    )
    invoice_date: datetime | None
    lines: list[PreviewLineOut]
    preview_token: str = Field(description="Pass to POST /v1/subscription/change to switch as previewed")
    expires_at: datetime

    @classmethod
    def from_preview(cls, preview: ChangePreview) -> PlanChangePreviewOut:
        return cls(
            subscription_id=preview.subscription_id,
            from_price_id=preview.from_price_id,
            price_id=preview.price_id,
            proration=preview.proration,
            currency=preview.currency,
            proration_date=preview.proration_date,
            proration_amount=preview.proration_amount,
            invoice_now=preview.invoice_now,
            invoice_amount_due=preview.invoice_amount_due,
            invoice_date=preview.invoice_date,
            lines=[
                PreviewLineOut(
                    description=line.description,
                    amount=line.amount,
                    proration=line.proration,
                    period_start=line.period_start,
                    period_end=line.period_end,
                )
                for line in preview.lines
            ],
            preview_token=preview.preview_token,
            expires_at=preview.expires_at,
        )
