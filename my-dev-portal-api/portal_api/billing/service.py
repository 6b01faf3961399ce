"""Billing rules: the user's Stripe customer; mirroring Stripe customers and subscriptions into our rows.

Every sync takes the object as just re-fetched from Stripe (never a webhook payload) and is safe to run
concurrently with itself: inserts happen in a savepoint and fall back to updating the winner's row, and on
PostgreSQL the row being changed is locked (SELECT ... FOR UPDATE) so two syncs of one subscription queue.
Lock order is always customer before subscription. Each change is announced on the change feed (topic
`user`), which key verification listens to. Nothing here calls Stripe inside a transaction: functions that
call Stripe take the Database and run read -> Stripe -> write phases; the write re-checks what it relies on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.models import User
from portal_api.billing.models import Customer, Subscription, SubscriptionItem, SubscriptionItemPrice
from portal_api.core.changes import announce
from portal_api.db import Database, utcnow
from portal_api.errors import Conflict, NotFound
from portal_api.stripe_client import StripeGateway

# A user with a subscription in one of these states manages it in the billing portal instead of buying again.
BLOCKING_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid", "paused"})
# Same order as key verification uses, so the dashboard and the verdict talk about the same subscription.
_RELEVANCE = case(
    (Subscription.status.in_(["active", "trialing"]), 0), (Subscription.status == "past_due", 1), else_=2
)


def from_timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def stripe_id(value: str | Mapping[str, Any] | None) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])


# -- customers ------------------------------------------------------------------------------------------


async def get_customer(session: AsyncSession, user_id: str) -> Customer | None:
    """The user's live (not deleted) Stripe customer link."""
    return await session.scalar(
        select(Customer).where(Customer.user_id == user_id, Customer.deleted_at.is_(None))
    )


async def _customer_for_update(session: AsyncSession, **where: str) -> Customer | None:
    query = select(Customer).filter_by(**where).with_for_update()
    return await session.scalar(query.execution_options(populate_existing=True))


async def ensure_customer(database: Database, stripe: StripeGateway, user: User) -> Customer:
    """The user's Stripe customer, created on first need (once per user, even when two requests race).

    Read the link; if there is none, find or create the customer in Stripe (the creation's idempotency key
    is the user's, so racing requests get the same customer); then link it in a short write.
    """
    async with database.read() as session:
        row = await session.scalar(select(Customer).where(Customer.user_id == user.id))
    if row is not None and row.deleted_at is None:
        return row
    stripe_customer: dict[str, Any] | None = None
    if row is None:
        # Recovers a customer made for this user before our row was written (crash, restore from backup).
        found = await stripe.find_customer_by_email(user.email)
        if found and (found.get("metadata") or {}).get("user_id") == user.id:
            stripe_customer = found
    if stripe_customer is None:
        stripe_customer = await stripe.create_customer(
            user_id=user.id,
            email=user.email,
            name=user.name,
            replaces=row.stripe_customer_id if row is not None else None,
        )
    async with database.write() as session:
        return await link_customer(session, user.id, stripe_customer)


async def link_customer(session: AsyncSession, user_id: str, stripe_customer: Mapping[str, Any]) -> Customer:
    """Point the user's Customer row at this Stripe customer (insert or update), with its email and name."""
    row = await _customer_for_update(session, user_id=user_id)
    try:
        async with session.begin_nested():
            if row is None:
                row = Customer(user_id=user_id, stripe_customer_id=stripe_customer["id"])
                session.add(row)
            _copy_customer(row, stripe_customer)
    except IntegrityError:
        # Either a concurrent request linked this user first (use its row) or the Stripe customer already
        # belongs to another user of ours.
        row = await _customer_for_update(session, user_id=user_id)
        if row is None or row.stripe_customer_id != stripe_customer["id"]:
            raise Conflict(
                "This billing account is already linked to another user", code="customer_linked_elsewhere"
            ) from None
        _copy_customer(row, stripe_customer)
    announce(session, "user", user_id)
    return row


def _copy_customer(row: Customer, stripe_customer: Mapping[str, Any]) -> None:
    row.stripe_customer_id = stripe_customer["id"]
    row.email = stripe_customer.get("email")
    row.name = stripe_customer.get("name")
    row.deleted_at = None


async def refresh_customer(session: AsyncSession, stripe_customer: Mapping[str, Any]) -> str | None:
    """Copy email and name of a known customer (customer.created/updated); returns its user id."""
    if stripe_customer.get("deleted"):
        return await detach_customer(session, stripe_customer["id"])
    row = await _customer_for_update(session, stripe_customer_id=stripe_customer["id"])
    if row is None:
        return None  # not one of ours (yet): provisioning links it
    row.email = stripe_customer.get("email")
    row.name = stripe_customer.get("name")
    announce(session, "user", row.user_id)
    return row.user_id


async def detach_customer(session: AsyncSession, stripe_customer_id: str) -> str | None:
    """A customer deleted in Stripe: mark the link deleted and its subscriptions canceled."""
    row = await _customer_for_update(session, stripe_customer_id=stripe_customer_id)
    now = utcnow()
    if row is not None and row.deleted_at is None:
        row.deleted_at = now
    subscriptions = await session.scalars(
        select(Subscription)
        .where(Subscription.stripe_customer_id == stripe_customer_id, Subscription.status != "canceled")
        .with_for_update()
    )
    user_ids = {row.user_id} if row is not None else set()
    for subscription in subscriptions:
        _set_status(subscription, "canceled", now)
        subscription.canceled_at = subscription.canceled_at or now
        user_ids.add(subscription.user_id)
    for user_id in user_ids:
        announce(session, "user", user_id)
    return row.user_id if row is not None else None


# -- subscriptions --------------------------------------------------------------------------------------


async def _subscription_for_update(session: AsyncSession, stripe_subscription_id: str) -> Subscription | None:
    query = (
        select(Subscription)
        .where(Subscription.stripe_subscription_id == stripe_subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def sync_subscription(
    session: AsyncSession,
    stripe_subscription: Mapping[str, Any],
    *,
    user_id: str | None = None,
    changed_at: datetime | None = None,
) -> Subscription | None:
    """Upsert the local copy of a subscription (status, plan, period, cancellation, items).

    The owner is `user_id`, else the existing row's, else the user linked to its customer; a subscription
    of a customer we do not know yet returns None (checkout provisioning will sync it). An item whose price
    differs from ours changed price at `changed_at` (when the caller knows: the plan change it just made,
    the webhook event's time), else now; its price history (SubscriptionItemPrice) records it.
    """
    stripe_subscription_id = stripe_subscription["id"]
    customer_id = stripe_id(stripe_subscription.get("customer")) or ""
    row = await _subscription_for_update(session, stripe_subscription_id)
    if row is None:
        if user_id is None:
            customer = await session.scalar(
                select(Customer).where(Customer.stripe_customer_id == customer_id)
            )
            if customer is None:
                return None
            user_id = customer.user_id
        try:
            async with session.begin_nested():
                row = Subscription(
                    user_id=user_id,
                    stripe_customer_id=customer_id,
                    stripe_subscription_id=stripe_subscription_id,
                    status=stripe_subscription["status"],
                    status_changed_at=utcnow(),
                    items=[],
                )
                session.add(row)
        except IntegrityError:
            row = await _subscription_for_update(session, stripe_subscription_id)
            if row is None:
                raise
    _copy_subscription(row, stripe_subscription, customer_id)
    await _sync_items(
        session, row, (stripe_subscription.get("items") or {}).get("data") or [], changed_at or utcnow()
    )
    announce(session, "user", row.user_id)
    return row


async def mark_subscription_gone(session: AsyncSession, stripe_subscription_id: str) -> str | None:
    """Stripe no longer knows the subscription: it entitles nobody. Returns the owner's user id."""
    row = await _subscription_for_update(session, stripe_subscription_id)
    if row is None:
        return None
    now = utcnow()
    _set_status(row, "canceled", now)
    row.canceled_at = row.canceled_at or now
    announce(session, "user", row.user_id)
    return row.user_id


def _set_status(row: Subscription, status: str, now: datetime) -> None:
    if row.status != status:
        row.status = status
        row.status_changed_at = now


def _copy_subscription(row: Subscription, data: Mapping[str, Any], customer_id: str) -> None:
    items = (data.get("items") or {}).get("data") or []
    price = items[0].get("price") if items else None
    product = price.get("product") if isinstance(price, dict) else None
    _set_status(row, data["status"], utcnow())
    row.stripe_customer_id = customer_id or row.stripe_customer_id
    row.price_id = stripe_id(price)
    row.product_id = stripe_id(product)
    row.plan_nickname = price.get("nickname") if isinstance(price, dict) else None
    row.product_name = product.get("name") if isinstance(product, dict) else None
    row.current_period_start = from_timestamp(data.get("current_period_start"))
    row.current_period_end = from_timestamp(data.get("current_period_end"))
    row.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
    row.cancel_at = from_timestamp(data.get("cancel_at"))
    row.canceled_at = from_timestamp(data.get("canceled_at"))


async def _sync_items(
    session: AsyncSession, row: Subscription, items: list[dict[str, Any]], changed_at: datetime
) -> None:
    wanted = {item["id"]: item for item in items}
    # An item that appears in a subscription we already had was added to it: it bills from then on.
    added_since: dict[str, datetime] = {}
    had_items = bool(row.items)
    for existing in list(row.items):
        if existing.stripe_item_id not in wanted:
            row.items.remove(existing)
    have = {item.stripe_item_id: item for item in row.items}
    for stripe_item_id, data in wanted.items():
        item = have.get(stripe_item_id)
        if item is None:
            if had_items:
                added_since[stripe_item_id] = from_timestamp(data.get("created")) or changed_at
            item = SubscriptionItem(stripe_item_id=stripe_item_id)
            row.items.append(item)
        price = data.get("price") or {}
        item.price_id = stripe_id(price) or ""
        item.product_id = stripe_id(price.get("product")) if isinstance(price, dict) else None
        recurring = price.get("recurring") if isinstance(price, dict) else None
        item.usage_type = (recurring or {}).get("usage_type")
    await session.flush()
    await _record_prices(session, row.items, changed_at, added_since)


async def _record_prices(
    session: AsyncSession,
    items: list[SubscriptionItem],
    changed_at: datetime,
    added_since: Mapping[str, datetime],
) -> None:
    """Keep each item's price history in line with its price: a new item starts one (since it was added to
    a subscription we knew, else since it began), a swap closes the open row at `changed_at` and opens one
    for the new price."""
    if not items:
        return
    open_rows = {
        price.subscription_item_id: price
        for price in await session.scalars(
            select(SubscriptionItemPrice).where(
                SubscriptionItemPrice.subscription_item_id.in_([item.id for item in items]),
                SubscriptionItemPrice.until.is_(None),
            )
        )
    }
    for item in items:
        current = open_rows.get(item.id)
        if current is not None and current.price_id == item.price_id:
            continue
        since = added_since.get(item.stripe_item_id)
        if current is not None:
            since = max(changed_at, current.since) if current.since is not None else changed_at
            current.until = since
        session.add(SubscriptionItemPrice(subscription_item_id=item.id, price_id=item.price_id, since=since))
    await session.flush()


async def current_subscription(session: AsyncSession, user_id: str) -> Subscription | None:
    """The user's most relevant subscription: active/trialing, then past_due, then the newest other."""
    return await session.scalar(
        select(Subscription)
        .where(Subscription.user_id == user_id)
        .order_by(_RELEVANCE, Subscription.created_at.desc())
        .limit(1)
    )


async def blocking_subscription(session: AsyncSession, user_id: str) -> Subscription | None:
    return await session.scalar(
        select(Subscription)
        .where(Subscription.user_id == user_id, Subscription.status.in_(sorted(BLOCKING_STATUSES)))
        .limit(1)
    )


async def billing_portal_url(
    database: Database, stripe: StripeGateway, *, user: User, return_url: str
) -> str:
    async with database.read() as session:
        customer = await get_customer(session, user.id)
    if customer is None:
        raise NotFound("You have no billing account yet; subscribe to a plan first", code="no_customer")
    portal = await stripe.create_billing_portal_session(customer.stripe_customer_id, return_url)
    return str(portal["url"])
