"""The `reconciliation_runs` table: one row per run of the Stripe reconciliation job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal_api.db import Base, UTCDateTime, new_id, utcnow


class ReconciliationRun(Base):
    __tablename__ = "reconciliation_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("recon"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked: Mapped[int] = mapped_column(Integer, default=0)  # subscriptions compared with Stripe
    repaired: Mapped[int] = mapped_column(Integer, default=0)  # local rows changed to match Stripe
    errors: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of {"object", "code", "message"}
