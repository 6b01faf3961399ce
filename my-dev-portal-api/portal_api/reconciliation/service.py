"""Reconciliation rules: compare each local customer and its subscriptions with Stripe, repair the drift.

Webhooks can be missed (endpoint down longer than Stripe retries, a secret rotated, an event dropped); this
job re-reads Stripe and repairs local rows by calling the billing service's own sync functions
(`billing.sync_subscription`, `billing.detach_customer`, `billing.refresh_customer`), so a repair is the very
same change a delivered webhook would have made. Each customer is read, compared with Stripe (no transaction
open), then repaired in one short write of its own: one failure is recorded in the run's errors and the run
goes on. An id Stripe does not know is recorded, never
repaired (a Stripe key pointing at the wrong account must not cancel every subscription). The Meter Test's
customer (a system user, made in Stripe test mode) is left to the Meter Test, which re-reads it each run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.system_users import SYSTEM_USER_IDS
from portal_api.billing import service as billing
from portal_api.billing.models import Customer, Subscription
from portal_api.core.changes import announce
from portal_api.db import Database, utcnow
from portal_api.errors import NotFound, PortalError
from portal_api.reconciliation.models import ReconciliationRun
from portal_api.stripe_client import StripeGateway, normalize_subscription

log = structlog.get_logger(__name__)

MAX_RUN_ERRORS = 100
PAGE_SIZE = 100


@dataclass
class Tally:
    checked: int = 0
    repaired: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, object_id: str, code: str, message: str) -> None:
        if len(self.errors) < MAX_RUN_ERRORS:
            self.errors.append({"object": object_id, "code": code, "message": message})


async def list_customer_subscriptions(stripe: StripeGateway, stripe_customer_id: str) -> list[dict[str, Any]]:
    """Every subscription of the customer in Stripe, canceled ones included (all pages)."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"customer": stripe_customer_id, "status": "all", "limit": PAGE_SIZE}
    while True:
        page = await stripe.raw("get", "/v1/subscriptions", params)
        data = page.get("data") or []
        found.extend(normalize_subscription(dict(item)) for item in data)
        if not page.get("has_more") or not data:
            return found
        params = {**params, "starting_after": data[-1]["id"]}


def drifted(row: Subscription, remote: Mapping[str, Any]) -> bool:
    """Does the local row disagree with Stripe on anything key verification or the dashboard relies on?"""
    items = (remote.get("items") or {}).get("data") or []
    remote_items = {(item["id"], billing.stripe_id(item.get("price")) or "") for item in items}
    return (
        row.status != remote["status"]
        or row.price_id != (billing.stripe_id(items[0].get("price")) if items else None)
        or row.cancel_at_period_end != bool(remote.get("cancel_at_period_end"))
        or row.cancel_at != billing.from_timestamp(remote.get("cancel_at"))
        or row.current_period_end != billing.from_timestamp(remote.get("current_period_end"))
        or {(item.stripe_item_id, item.price_id) for item in row.items} != remote_items
    )


@dataclass
class Repairs:
    """What one customer needs, found in Stripe before any write: apply with `apply_repairs`."""

    detach: bool = False
    customer: dict[str, Any] | None = None
    subscriptions: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.detach or self.customer is not None or bool(self.subscriptions)


async def find_repairs(
    stripe: StripeGateway, customer: Customer, local: Mapping[str, Subscription], tally: Tally
) -> Repairs:
    """Compare one customer and its subscriptions with Stripe (no transaction open while it answers)."""
    repairs = Repairs()
    remote_customer = await stripe.retrieve_customer(customer.stripe_customer_id)
    if remote_customer.get("deleted"):
        repairs.detach = True
        tally.repaired += 1
        return repairs
    if (customer.email, customer.name) != (remote_customer.get("email"), remote_customer.get("name")):
        repairs.customer = remote_customer
        tally.repaired += 1
    remote = {s["id"]: s for s in await list_customer_subscriptions(stripe, customer.stripe_customer_id)}
    for subscription_id, summary in remote.items():
        tally.checked += 1
        row = local.get(subscription_id)
        if row is not None and not drifted(row, summary):
            continue
        # Sync from the full object (items with price and product expanded), as the webhook path does.
        full = await stripe.retrieve_subscription(subscription_id)
        repairs.subscriptions.append((full, customer.user_id))
        tally.repaired += 1
    for subscription_id in local.keys() - remote.keys():
        # Listed under another customer now, or unknown to Stripe: look it up by id.
        tally.checked += 1
        try:
            full = await stripe.retrieve_subscription(subscription_id)
        except NotFound:
            tally.error(subscription_id, "unknown_subscription", "Stripe has no subscription with this id")
            continue
        if drifted(local[subscription_id], full) or billing.stripe_id(full.get("customer")) != (
            customer.stripe_customer_id
        ):
            repairs.subscriptions.append((full, None))
            tally.repaired += 1
    return repairs


async def apply_repairs(session: AsyncSession, customer: Customer, repairs: Repairs) -> None:
    """Write what `find_repairs` found through the billing sync functions, in the caller's transaction."""
    if repairs.detach:
        await billing.detach_customer(session, customer.stripe_customer_id)
        return
    if repairs.customer is not None:
        await billing.refresh_customer(session, repairs.customer)
    for full, user_id in repairs.subscriptions:
        await billing.sync_subscription(session, full, user_id=user_id)
    if repairs:
        announce(session, "user", customer.user_id)


async def reconcile_customer(
    database: Database, stripe: StripeGateway, customer_id: str, tally: Tally
) -> bool:
    """Read one customer and its subscriptions, ask Stripe, write the repairs; True if anything changed."""
    async with database.read() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None or customer.deleted_at is not None:
            return False
        local = {
            row.stripe_subscription_id: row
            for row in await session.scalars(
                select(Subscription).where(Subscription.stripe_customer_id == customer.stripe_customer_id)
            )
        }
    repairs = await find_repairs(stripe, customer, local, tally)
    if not repairs:
        return False
    async with database.write() as session:
        await apply_repairs(session, customer, repairs)
    return True


async def run_reconciliation(
    database: Database, stripe: StripeGateway, *, stop: asyncio.Event | None = None
) -> ReconciliationRun:
    """One full run over every live customer; records and returns the run. Never raises for Stripe errors.
    Setting `stop` ends it after the customer in hand (shutdown)."""
    async with database.write() as session:
        run = ReconciliationRun(started_at=utcnow(), checked=0, repaired=0, errors="[]")
        session.add(run)
    async with database.read() as session:
        customers = list(
            await session.scalars(
                select(Customer)
                .where(Customer.deleted_at.is_(None), Customer.user_id.not_in(sorted(SYSTEM_USER_IDS)))
                .order_by(Customer.created_at)
            )
        )
    tally = Tally()
    for customer in customers:
        if stop is not None and stop.is_set():
            break
        try:
            await reconcile_customer(database, stripe, customer.id, tally)
        except NotFound:
            tally.error(
                customer.stripe_customer_id, "unknown_customer", "Stripe has no customer with this id"
            )
        except PortalError as exc:
            tally.error(customer.stripe_customer_id, exc.code, exc.message)
        except Exception as exc:  # one broken customer must not stop the daily run
            log.exception("reconciliation_customer_failed", customer=customer.stripe_customer_id)
            tally.error(customer.stripe_customer_id, "internal_error", type(exc).__name__)
    async with database.write() as session:
        finished = await session.get(ReconciliationRun, run.id)
        assert finished is not None
        finished.finished_at = utcnow()
        finished.checked = tally.checked
        finished.repaired = tally.repaired
        finished.errors = json.dumps(tally.errors)
    log.info("reconciliation_run", checked=tally.checked, repaired=tally.repaired, errors=len(tally.errors))
    return finished


async def list_runs(session: AsyncSession, *, limit: int) -> list[ReconciliationRun]:
    return list(
        await session.scalars(
            select(ReconciliationRun).order_by(ReconciliationRun.started_at.desc()).limit(limit)
        )
    )
