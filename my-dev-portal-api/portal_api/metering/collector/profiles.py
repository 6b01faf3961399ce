"""Moesif user and company profiles: kept as id mappings so events can be attributed to portal users.

A profile maps to a portal user when its metadata carries the user's email (`metadata.email`), or when a
company profile's `metadata.stripe_customer_id` is a known Stripe customer. Mappings by email are also
resolved at attribution time, so a profile sent before the customer signs up starts counting once they do.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.models import User
from portal_api.billing.models import Customer
from portal_api.db import utcnow
from portal_api.errors import Unprocessable
from portal_api.metering.collector.normalize import describe
from portal_api.metering.collector.schemas import MoesifCompany, MoesifUser
from portal_api.metering.models import CollectorCompany, CollectorUser

log = structlog.get_logger(__name__)


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _email(metadata: dict[str, Any] | None) -> str | None:
    value = (metadata or {}).get("email")
    return value.strip().lower()[:320] if isinstance(value, str) and "@" in value else None


def _validated(model: Any, raw: list[Any], what: str) -> list[Any]:
    valid = []
    for index, item in enumerate(raw):
        try:
            valid.append(model.model_validate(item))
        except ValidationError as exc:
            if len(raw) == 1:
                raise Unprocessable(f"Invalid {what}: {describe(exc)}", code=f"invalid_{what}") from None
            log.info("collector_profile_rejected", kind=what, index=index, problem=describe(exc))
    return valid


async def _user_ids_by_email(session: AsyncSession, emails: set[str]) -> dict[str, str]:
    if not emails:
        return {}
    rows = await session.execute(select(User.email, User.id).where(User.email.in_(emails)))
    return {email: user_id for email, user_id in rows.all()}


async def save_users(session: AsyncSession, raw: list[Any]) -> int:
    users: list[MoesifUser] = _validated(MoesifUser, raw, "user")
    by_email = await _user_ids_by_email(session, {e for u in users if (e := _email(u.metadata))})
    rows: dict[str, dict[str, Any]] = {}
    for user in users:
        email = _email(user.metadata)
        rows[user.user_id] = {
            "external_user_id": user.user_id,
            "portal_user_id": by_email.get(email) if email else None,
            "company_id": user.company_id,
            "email": email,
            "metadata_json": json.dumps(user.metadata, default=str) if user.metadata else None,
            "updated_at": utcnow(),
        }
    if rows:
        stmt = _insert(session)(CollectorUser.__table__).values(
            sorted(rows.values(), key=lambda r: r["external_user_id"])
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["external_user_id"],
            set_={
                name: stmt.excluded[name]
                for name in ("portal_user_id", "company_id", "email", "metadata_json", "updated_at")
            },
        )
        await session.execute(stmt)
    return len(rows)


async def save_companies(session: AsyncSession, raw: list[Any]) -> int:
    companies: list[MoesifCompany] = _validated(MoesifCompany, raw, "company")
    by_email = await _user_ids_by_email(session, {e for c in companies if (e := _email(c.metadata))})
    stripe_ids = {
        str(c.metadata["stripe_customer_id"])
        for c in companies
        if c.metadata and isinstance(c.metadata.get("stripe_customer_id"), str)
    }
    by_stripe: dict[str, str] = {}
    if stripe_ids:
        found = await session.execute(
            select(Customer.stripe_customer_id, Customer.user_id).where(
                Customer.stripe_customer_id.in_(stripe_ids)
            )
        )
        by_stripe = dict(found.tuples().all())
    rows: dict[str, dict[str, Any]] = {}
    for company in companies:
        email = _email(company.metadata)
        stripe_id = (company.metadata or {}).get("stripe_customer_id")
        portal_user_id = by_stripe.get(stripe_id) if isinstance(stripe_id, str) else None
        if portal_user_id is None and email:
            portal_user_id = by_email.get(email)
        rows[company.company_id] = {
            "company_id": company.company_id,
            "portal_user_id": portal_user_id,
            "email": email,
            "metadata_json": json.dumps(company.metadata, default=str) if company.metadata else None,
            "updated_at": utcnow(),
        }
    if rows:
        stmt = _insert(session)(CollectorCompany.__table__).values(
            sorted(rows.values(), key=lambda r: r["company_id"])
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["company_id"],
            set_={
                name: stmt.excluded[name]
                for name in ("portal_user_id", "email", "metadata_json", "updated_at")
            },
        )
        await session.execute(stmt)
    return len(rows)
