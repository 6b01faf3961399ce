"""Checkout rules: start a subscription Checkout Session, and provision a completed one exactly once.

Provisioning (shared by the return page's `complete` call and the `checkout.session.completed` webhook):
0. Read whether the ProvisionedCheckout row exists already; if so, skip to the write as a loser.
1. Fetch the session's customer and subscription from Stripe (`fetch_facts`; no transaction is open).
2. In one short write (`provision`), insert the ProvisionedCheckout row keyed by the Checkout Session id,
   in a savepoint. Exactly one caller succeeds. On PostgreSQL a racing insert waits for the winner's commit
   and then fails with IntegrityError; the loser rolls back the savepoint only and re-reads the committed
   row. On SQLite writes queue (BEGIN IMMEDIATE), so a later caller finds the row and is a loser.
3. The winner links the customer and syncs the subscription; the loser reads what the winner wrote.
4. Only the human-facing `complete` call issues the first API key, so its secret reaches the person who
   paid even when the webhook arrived first (it often does). A conditional UPDATE of the row's
   first_key_id (WHERE first_key_id IS NULL) lets exactly one `complete` call keep its new key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.models import User
from portal_api.accounts.service import normalize_email
from portal_api.billing import service as billing
from portal_api.billing.models import Customer, Subscription
from portal_api.billing.plan_changes import offered_price
from portal_api.checkout.models import ProvisionedCheckout
from portal_api.config import Settings
from portal_api.db import Database, utcnow
from portal_api.errors import Conflict, NotFound
from portal_api.keys.models import ApiKey
from portal_api.keys.service import count_active_keys, create_key
from portal_api.stripe_client import StripeGateway, checkout_window

FIRST_KEY_NAME = "Default key"
PAID_STATES = frozenset({"paid", "no_payment_required"})
ProvisionedBy = Literal["return", "webhook"]


@dataclass(frozen=True)
class CheckoutFacts:
    """What Stripe says about a paid checkout's customer and subscription, fetched before any write."""

    customer: dict[str, Any]
    subscription: dict[str, Any] | None


@dataclass
class Provisioned:
    checkout: ProvisionedCheckout
    customer: Customer | None
    subscription: Subscription | None
    key: ApiKey | None = None
    secret: str | None = None  # only in the result of the call that created the key


def success_url(settings: Settings) -> str:
    return f"{settings.portal_url}/return?checkout_session_id={{CHECKOUT_SESSION_ID}}"


def cancel_url(settings: Settings) -> str:
    return f"{settings.portal_url}/pricing?canceled=1"


async def start_checkout(
    database: Database,
    stripe: StripeGateway,
    settings: Settings,
    *,
    user: User,
    price_id: str,
    attempt: str | None = None,
) -> dict[str, Any]:
    """A Stripe-hosted subscription checkout for `price_id`; returns the Checkout Session (id, url).

    Reads first, then Stripe (price, customer, session); the only write, linking a new customer, is a
    short transaction of its own between the Stripe calls.
    """
    async with database.read() as session:
        existing = await billing.blocking_subscription(session, user.id)
        # Part of the idempotency key: once a checkout turned into a subscription, the next click (after a
        # cancellation, say) must get a fresh session rather than the replay of the completed one.
        generation = await session.scalar(
            select(func.count()).select_from(Subscription).where(Subscription.user_id == user.id)
        )
    if existing is not None:
        plan = existing.plan_nickname or existing.product_name or "a plan"
        raise Conflict(
            f"You are already subscribed ({plan}, {existing.status.replace('_', ' ')}). To move to another "
            "plan, use “Switch to this plan” on the pricing page; to cancel, or to pay an open invoice, use "
            "Manage billing on your dashboard.",
            code="already_subscribed",
        )
    price = await offered_price(stripe, price_id)
    customer = await billing.ensure_customer(database, stripe, user)
    return await stripe.create_checkout_session(
        user_id=user.id,
        customer_id=customer.stripe_customer_id,
        price_id=price["id"],
        metered=(price.get("recurring") or {}).get("usage_type") == "metered",
        success_url=success_url(settings),
        cancel_url=cancel_url(settings),
        attempt=f"{generation or 0}:{attempt or checkout_window()}",
    )


def belongs_to(checkout_session: dict[str, Any], user: User) -> bool:
    """Ours by client_reference_id; a Pricing Table session without one is matched by the payer's email."""
    reference = checkout_session.get("client_reference_id")
    if reference:
        return bool(reference == user.id)
    customer = checkout_session.get("customer")
    emails = {
        (checkout_session.get("customer_details") or {}).get("email"),
        checkout_session.get("customer_email"),
        customer.get("email") if isinstance(customer, dict) else None,
    }
    return normalize_email(user.email) in {normalize_email(e) for e in emails if e}


async def find_checkout_user(session: AsyncSession, checkout_session: dict[str, Any]) -> User | None:
    """Whose checkout this is (webhook path): client_reference_id, the customer's metadata user_id or its
    link in our customers table, else the payer's email."""
    reference = checkout_session.get("client_reference_id")
    if reference:
        return await session.get(User, reference)
    customer = checkout_session.get("customer")
    if isinstance(customer, dict):
        user_id = (customer.get("metadata") or {}).get("user_id")
        if user_id and (user := await session.get(User, user_id)) is not None:
            return user
    customer_id = billing.stripe_id(customer)
    if customer_id:
        linked = await session.scalar(select(Customer).where(Customer.stripe_customer_id == customer_id))
        if linked is not None:
            return await session.get(User, linked.user_id)
    for email in (
        (checkout_session.get("customer_details") or {}).get("email"),
        checkout_session.get("customer_email"),
        customer.get("email") if isinstance(customer, dict) else None,
    ):
        if email:
            user = await session.scalar(select(User).where(User.email == normalize_email(email)))
            if user is not None:
                return user
    return None


def require_paid(checkout_session: dict[str, Any]) -> None:
    status = checkout_session.get("status")
    if status == "expired":
        raise Conflict("This checkout session expired; start a new checkout", code="checkout_expired")
    if status != "complete" or checkout_session.get("payment_status") not in PAID_STATES:
        raise Conflict(
            "Payment for this checkout session is not complete yet; finish it on the checkout page",
            code="checkout_not_complete",
        )


async def complete_checkout(
    database: Database, stripe: StripeGateway, settings: Settings, *, user: User, checkout_session_id: str
) -> Provisioned:
    """The return page's call: check the session is the user's and paid, provision it, issue the first key."""
    unknown = NotFound("There is no such checkout session", code="checkout_session_not_found")
    try:
        checkout_session = await stripe.retrieve_checkout_session(checkout_session_id)
    except NotFound:
        raise unknown from None
    if not belongs_to(checkout_session, user):
        raise unknown
    require_paid(checkout_session)
    facts = await facts_unless_provisioned(database, stripe, checkout_session)
    async with database.write() as session:
        result = await provision(
            session, settings, checkout_session, facts, user_id=user.id, provisioned_by="return"
        )
    if result.checkout.user_id != user.id:
        raise unknown
    return result


async def facts_unless_provisioned(
    database: Database, stripe: StripeGateway, checkout_session: dict[str, Any]
) -> CheckoutFacts | None:
    """Stripe's customer and subscription of the session, or None when it was provisioned already."""
    async with database.read() as session:
        provisioned = await session.get(ProvisionedCheckout, checkout_session["id"])
    if provisioned is not None:
        return None
    return await fetch_facts(stripe, checkout_session)


async def fetch_facts(stripe: StripeGateway, checkout_session: dict[str, Any]) -> CheckoutFacts:
    customer = await _fresh_customer(stripe, checkout_session)
    subscription_id = billing.stripe_id(checkout_session.get("subscription"))
    subscription = await stripe.retrieve_subscription(subscription_id) if subscription_id else None
    return CheckoutFacts(customer=customer, subscription=subscription)


class FactsNeeded(Exception):
    """provision() found no row to join but was given no Stripe facts to create one (a caller's bug)."""


async def provision(
    session: AsyncSession,
    settings: Settings,
    checkout_session: dict[str, Any],
    facts: CheckoutFacts | None,
    *,
    user_id: str,
    provisioned_by: ProvisionedBy,
) -> Provisioned:
    """Link the paid session's customer and subscription to `user_id`, once; see the module docstring.

    Runs inside the caller's write transaction and calls nothing outside the database. The `return` path
    also issues the first API key if the user has no live key.
    """
    checkout_session_id = checkout_session["id"]
    record = await _load(session, checkout_session_id)
    won = False
    if record is None:
        if facts is None:
            raise FactsNeeded(checkout_session_id)
        record = ProvisionedCheckout(
            stripe_checkout_session_id=checkout_session_id,
            user_id=user_id,
            stripe_customer_id=facts.customer["id"],
            stripe_subscription_id=billing.stripe_id(checkout_session.get("subscription")),
            keys_created=0,
            provisioned_by=provisioned_by,
        )
        try:
            async with session.begin_nested():
                session.add(record)
            won = True
        except IntegrityError:
            record = await _load(session, checkout_session_id)
            if record is None:
                raise
    if won:
        assert facts is not None  # won implies the insert above, which needs facts
        customer: Customer | None = await billing.link_customer(session, user_id, facts.customer)
        subscription = None
        if facts.subscription is not None:
            subscription = await billing.sync_subscription(session, facts.subscription, user_id=user_id)
    else:
        customer = await session.scalar(
            select(Customer).where(Customer.stripe_customer_id == record.stripe_customer_id)
        )
        subscription = None
        if record.stripe_subscription_id:
            subscription = await session.scalar(
                select(Subscription).where(
                    Subscription.stripe_subscription_id == record.stripe_subscription_id
                )
            )
    result = Provisioned(record, customer, subscription)
    if provisioned_by == "return":
        await _issue_first_key(session, settings, result, user_id=user_id)
    return result


async def _load(session: AsyncSession, checkout_session_id: str) -> ProvisionedCheckout | None:
    return await session.get(ProvisionedCheckout, checkout_session_id, populate_existing=True)


async def _fresh_customer(stripe: StripeGateway, checkout_session: dict[str, Any]) -> dict[str, Any]:
    customer = checkout_session.get("customer")
    if isinstance(customer, dict) and not customer.get("deleted"):
        return customer  # expanded in the retrieve we just made
    customer_id = billing.stripe_id(customer)
    if not customer_id:
        raise Conflict("The checkout session has no customer yet", code="checkout_not_complete")
    return await stripe.retrieve_customer(customer_id)


class _KeyAlreadyIssued(Exception):
    pass


async def _issue_first_key(
    session: AsyncSession, settings: Settings, result: Provisioned, *, user_id: str
) -> None:
    record = result.checkout
    if record.first_key_id is not None or record.user_id != user_id:
        return
    if await count_active_keys(session, user_id=user_id, now=utcnow()):
        await session.refresh(record)  # the key may be this checkout's, issued by a call that just committed
        return
    try:
        async with session.begin_nested():
            key, secret = await create_key(session, settings, user_id=user_id, name=FIRST_KEY_NAME)
            claimed = await session.execute(
                update(ProvisionedCheckout)
                .where(
                    ProvisionedCheckout.stripe_checkout_session_id == record.stripe_checkout_session_id,
                    ProvisionedCheckout.first_key_id.is_(None),
                )
                .values(first_key_id=key.id, keys_created=ProvisionedCheckout.keys_created + 1)
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                raise _KeyAlreadyIssued  # another `complete` call issued it: drop ours with the savepoint
    except _KeyAlreadyIssued:
        await session.refresh(record)
        return
    await session.refresh(record)
    result.key, result.secret = key, secret
