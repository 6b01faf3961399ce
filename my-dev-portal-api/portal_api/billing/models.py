"""Local mirror of the Stripe customer and subscription linked to each user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal_api.db import Base, UTCDateTime, new_id, utcnow


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cust"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("sub"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255), index=True)
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(32))
    price_id: Mapped[str | None] = mapped_column(String(255))
    product_id: Mapped[str | None] = mapped_column(String(255))
    plan_nickname: Mapped[str | None] = mapped_column(String(255))
    product_name: Mapped[str | None] = mapped_column(String(255))
    current_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    # When Stripe will end the subscription (the period end when canceling at period end), if it will.
    cancel_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the status last changed; past_due keys stay valid for a grace period counted from here.
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[SubscriptionItem]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan", lazy="selectin"
    )


class SubscriptionItem(Base):
    __tablename__ = "subscription_items"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("si"))
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    stripe_item_id: Mapped[str] = mapped_column(String(255), unique=True)
    price_id: Mapped[str] = mapped_column(String(255), index=True)
    product_id: Mapped[str | None] = mapped_column(String(255))
    usage_type: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subscription: Mapped[Subscription] = relationship(back_populates="items")


class SubscriptionItemPrice(Base):
    """The prices a subscription item has had: one row per price, `since` the change to it (NULL: since the
    item began) `until` the change away from it (NULL: its price now).

    Stripe keeps an item's id when its price changes, and what it bills for usage reported before the change
    depends on how usage reaches it (legacy usage records stay on the item; a Billing Meter price bills only
    usage from the change on), so the reporter needs to know which price the item had when
    (reporting/targets.py). Written by billing.sync_subscription; `since` is when the change happened as far
    as we know it (the plan change's own call, the webhook event's time) or else when we saw it.
    """

    __tablename__ = "subscription_item_prices"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("sip"))
    subscription_item_id: Mapped[str] = mapped_column(
        ForeignKey("subscription_items.id", ondelete="CASCADE"), index=True
    )
    price_id: Mapped[str] = mapped_column(String(255))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
