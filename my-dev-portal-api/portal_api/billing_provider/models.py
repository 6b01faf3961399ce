"""The billing provider settings row (one per portal): Stripe keys encrypted, API version, who changed it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal_api.db import Base, UTCDateTime, utcnow

SINGLETON_ID = "default"


class BillingProviderConfig(Base):
    __tablename__ = "billing_provider_settings"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default=SINGLETON_ID)
    provider: Mapped[str] = mapped_column(String(16), default="stripe")
    # Fernet tokens (see crypto.py); the plaintext never touches the database or a response.
    secret_key_encrypted: Mapped[str | None] = mapped_column(Text)
    secret_key_last4: Mapped[str | None] = mapped_column(String(4))
    publishable_key: Mapped[str | None] = mapped_column(String(255))
    api_version: Mapped[str] = mapped_column(String(64))
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))
