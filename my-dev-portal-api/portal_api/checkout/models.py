"""Provisioning record: one row per completed Checkout Session; makes provisioning idempotent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal_api.db import Base, UTCDateTime, utcnow


class ProvisionedCheckout(Base):
    __tablename__ = "provisioned_checkouts"

    # The primary key on the Stripe id is what lets exactly one of the racing `complete` calls / webhooks win.
    stripe_checkout_session_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255))
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255))
    keys_created: Mapped[int] = mapped_column(Integer, default=0)
    first_key_id: Mapped[str | None] = mapped_column(String(40))
    provisioned_by: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
