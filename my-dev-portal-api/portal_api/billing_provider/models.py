"""The billing provider settings row (one per portal): the one Stripe configuration, secrets encrypted."""

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
    # The signing secret replaced last, still accepted until the expiry (a rotation's grace period).
    previous_webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_webhook_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "environment": written from STRIPE_* at start-up and never edited since (a changed environment is
    # written again at the next start); "database": saved in the console, which wins from then on.
    source: Mapped[str] = mapped_column(String(16), default="database")
    environment_fingerprint: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))
