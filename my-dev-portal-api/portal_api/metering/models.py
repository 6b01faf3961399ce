"""Tables for metering: collector tokens, raw usage events, meters, hourly rollups and identity mappings.

Raw events are written once and never updated. Everything reporting and charts read comes from
`usage_rollups` (one row per meter, customer and UTC hour) and, for unique-count metrics,
`usage_rollup_values` (the distinct values seen per meter, customer and hour, stored as short digests).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal_api.db import Base, UTCDateTime, new_id, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class CollectorToken(Base):
    """A Moesif-style Application Id: sent by server middlewares in `X-Moesif-Application-Id`."""

    __tablename__ = "collector_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ctk"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsageEvent(Base):
    """One API call as received. `user_id` is the portal user (customer) it is billed to, or NULL."""

    __tablename__ = "usage_events"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    # transaction_id (Moesif) or id (our API); unique, so a resent event is stored and counted once.
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[str | None] = mapped_column(String(40))
    attributed_by: Mapped[str | None] = mapped_column(String(16))
    api_key_id: Mapped[str | None] = mapped_column(String(40))
    external_user_id: Mapped[str | None] = mapped_column(String(255))
    company_id: Mapped[str | None] = mapped_column(String(255))
    # A digest of the session token (never the token itself).
    session_key: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    # JSON: request/response headers (secrets redacted), metadata, ip, api_version, direction, tags.
    payload: Mapped[str] = mapped_column(Text)


class Meter(Base):
    """A billing meter: which events count (filters), how (metric), and how Stripe charges (charge_by)."""

    __tablename__ = "meters"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("meter"))
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(16), default="stripe")
    stripe_product_id: Mapped[str] = mapped_column(String(255))
    stripe_price_id: Mapped[str] = mapped_column(String(255), index=True)
    price_nickname: Mapped[str | None] = mapped_column(String(255))
    price_currency: Mapped[str | None] = mapped_column(String(3))
    filters: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(Text)
    charge_by: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped whenever filters or metric change; compiled meters are cached per (id, version).
    version: Mapped[int] = mapped_column(Integer, default=1)
    rebuilt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rebuilt_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class UsageRollup(Base):
    """The meter's value for one customer and one UTC hour; `value` is in thousandths of a unit."""

    __tablename__ = "usage_rollups"

    meter_id: Mapped[str] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    value_milli: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageRollupValue(Base):
    """A distinct value (end user, session) seen for a unique-count meter in one customer-hour."""

    __tablename__ = "usage_rollup_values"

    meter_id: Mapped[str] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)


class CollectorUser(Base):
    """A Moesif user profile (POST /collector/v1/users): maps the provider's user id to a portal user."""

    __tablename__ = "collector_users"

    external_user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    portal_user_id: Mapped[str | None] = mapped_column(String(40))
    company_id: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    metadata_json: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CollectorCompany(Base):
    """A Moesif company profile (POST /collector/v1/companies): maps a company id to a portal user."""

    __tablename__ = "collector_companies"

    company_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    portal_user_id: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(320))
    metadata_json: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


Index("ix_collector_users_email", CollectorUser.email)
Index("ix_collector_companies_email", CollectorCompany.email)
