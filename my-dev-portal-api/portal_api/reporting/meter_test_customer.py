"""The Meter Test's own customer in Stripe test mode, and its subscription to a meter's price: reused or made.

The customer (one per Stripe account) and its subscriptions (one per price, holding only that price) are
kept for the next runs: each run reuses them, so a Stripe test account does not fill up with test customers.
They bill no one: the customer is the system user METER_TEST_USER_ID in our tables (accounts/system_users.py),
has no email and no payment method, and is marked `portal_meter_test=true` in Stripe. Its usage is reported
only by the Meter Test. Only ever called with a test-mode key (see meter_test.py); to remove them, delete the
customer in Stripe's dashboard (test mode): the next run makes a new one.

Phases: read our mirror; ask Stripe (retrieve, list; create with a derived idempotency key, so a retry after
a lost answer gets the same object); one short write mirroring the customer and the subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from portal_api.accounts.system_users import METER_TEST_NAME, METER_TEST_USER_ID, ensure_meter_test_user
from portal_api.billing import service as billing
from portal_api.billing.models import Customer, Subscription
from portal_api.db import Database
from portal_api.errors import NotFound
from portal_api.reporting.targets import REPORTABLE_STATUSES
from portal_api.stripe_client import StripeGateway

MARKER = "portal_meter_test"


@dataclass(frozen=True)
class MeterTestSubscription:
    subscription: Subscription  # our mirror, owned by the system user
    item_id: str  # the Stripe subscription item with the meter's price
    customer_created: bool
    subscription_created: bool


def _item_with(subscription: dict[str, Any], price_id: str) -> str | None:
    for item in (subscription.get("items") or {}).get("data") or []:
        price = item.get("price")
        if (price.get("id") if isinstance(price, dict) else price) == price_id:
            return str(item["id"])
    return None


def _usable(subscription: dict[str, Any], price_id: str) -> bool:
    return (
        subscription.get("status") in REPORTABLE_STATUSES
        and (subscription.get("metadata") or {}).get(MARKER) == "true"
        and _item_with(subscription, price_id) is not None
    )


async def _stripe_customer(gateway: StripeGateway, known: str | None) -> tuple[dict[str, Any], bool]:
    if known is not None:
        try:
            found = await gateway.retrieve_customer(known)
        except NotFound:
            found = None  # deleted for good, or the key is now another account's
        if found is not None and not found.get("deleted"):
            return found, False
    created = await gateway.create_meter_test_customer(
        user_id=METER_TEST_USER_ID, name=METER_TEST_NAME, replaces=known
    )
    return created, True


async def ensure_test_subscription(
    database: Database, gateway: StripeGateway, price_id: str
) -> MeterTestSubscription:
    """The Meter Test's subscription to `price_id` (made, with its customer, when there is none to reuse)."""
    async with database.write() as session:
        await ensure_meter_test_user(session)
        known = await session.scalar(
            select(Customer.stripe_customer_id).where(Customer.user_id == METER_TEST_USER_ID)
        )
    customer, customer_created = await _stripe_customer(gateway, known)
    earlier = await gateway.subscriptions_with_price(customer["id"], price_id)
    subscription = next((s for s in earlier if _usable(s, price_id)), None)
    subscription_created = subscription is None
    if subscription is None:
        subscription = await gateway.create_meter_test_subscription(
            customer_id=customer["id"], price_id=price_id, earlier=len(earlier)
        )
    async with database.write() as session:
        await billing.link_customer(session, METER_TEST_USER_ID, customer)
        mirrored = await billing.sync_subscription(session, subscription, user_id=METER_TEST_USER_ID)
    assert mirrored is not None  # synced with its owner given
    return MeterTestSubscription(
        subscription=mirrored,
        item_id=_item_with(subscription, price_id) or "",
        customer_created=customer_created,
        subscription_created=subscription_created,
    )
