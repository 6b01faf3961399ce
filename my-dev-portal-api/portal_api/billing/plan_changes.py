"""Plan changes of the signed-in user's subscription: switch price (with a preview of Stripe's proration),
cancel at the end of the period, resume.

Every function runs the phases of docs/ARCHITECTURE.md: read our mirror (short read), then Stripe (the
subscription as Stripe has it now, the price, the preview or the update), then one short write that mirrors
Stripe's answer through `service.sync_subscription`. The webhooks Stripe sends for the same change
(`customer.subscription.updated`) converge on the same rows.

- A switch swaps the price of the subscription's one item (Stripe keeps the item and its id, so metered usage
  reported to it stays on it; see reporting/targets.py for what that means per API version). The target must
  be an active recurring price of an active product in the subscription's currency, and another than the
  current one; the subscription must be active or trialing and have one item (others are managed in Stripe's
  billing portal).
- The preview is Stripe's invoice preview of that very swap (create_preview from basil on, the upcoming
  invoice before), prorated as of the moment Stripe states (`subscription_proration_date`). It comes with a
  `preview_token`, signed by us and valid PREVIEW_TTL: a switch that presents it is prorated as of that
  moment, so the customer is billed what the preview showed; a switch without one is prorated as of the
  moment Stripe makes it. The token is what keeps a client from choosing its own proration moment (a
  downgrade prorated from the period's start would credit a whole period).
- Idempotency keys (stripe_client.py) derive from the subscription, the prices, the proration moment, our
  mirror's version of the subscription and the client's Idempotency-Key, so a retried request is one change
  in Stripe while switching back and forth makes a new one each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal_api.accounts.models import User
from portal_api.billing import service
from portal_api.billing.models import Subscription
from portal_api.config import Settings
from portal_api.db import Database, utcnow
from portal_api.errors import Conflict, NotFound, Unprocessable
from portal_api.stripe_client import (
    StripeGateway,
    cancel_at_period_end_idempotency_key,
    preview_proration_date,
    subscription_change_idempotency_key,
)

Proration = Literal["create_prorations", "none", "always_invoice"]
# Stripe invoices these at once; the others leave the proration for the invoice at the period end.
IMMEDIATE_REASONS = frozenset({"subscription_update"})
CHANGEABLE_STATUSES = frozenset({"active", "trialing"})
CANCELABLE_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid", "paused"})
PREVIEW_TTL = timedelta(minutes=15)
_TOKEN_SALT = "plan-change-preview"


@dataclass(frozen=True)
class Mirror:
    """What our read phase found: the subscription to change and our version of it."""

    stripe_subscription_id: str
    stripe_customer_id: str
    generation: str


@dataclass(frozen=True)
class Change:
    """A price switch worked out against Stripe's current subscription."""

    mirror: Mirror
    item_id: str
    from_price_id: str
    price: dict[str, Any]

    @property
    def metered(self) -> bool:
        return (self.price.get("recurring") or {}).get("usage_type") == "metered"


@dataclass(frozen=True)
class PreviewLine:
    description: str | None
    amount: int
    proration: bool
    period_start: datetime | None
    period_end: datetime | None


@dataclass(frozen=True)
class ChangePreview:
    subscription_id: str
    from_price_id: str
    price_id: str
    proration: Proration
    currency: str
    proration_date: datetime | None
    proration_amount: int
    invoice_now: bool
    invoice_amount_due: int
    invoice_date: datetime | None
    lines: list[PreviewLine]
    preview_token: str
    expires_at: datetime


async def offered_price(stripe: StripeGateway, price_id: str) -> dict[str, Any]:
    """The price, if a customer can subscribe to it: exists, active (and its product), recurring."""
    try:
        price = await stripe.retrieve_price(price_id)
    except NotFound:
        raise NotFound(f"There is no plan with price id {price_id!r}", code="price_not_found") from None
    product = price.get("product")
    product_active = not isinstance(product, dict) or (
        product.get("active", True) and not product.get("deleted")
    )
    if not price.get("active") or not product_active:
        raise Unprocessable(f"The plan {price_id!r} is no longer offered", code="price_inactive")
    if not price.get("recurring"):
        raise Unprocessable(
            f"The price {price_id!r} is a one-time price; choose a subscription plan",
            code="price_not_recurring",
        )
    return price


async def _read_mirror(database: Database, user: User, statuses: frozenset[str]) -> Mirror:
    async with database.read() as session:
        row = await service.current_subscription(session, user.id)
        if row is None or row.status not in statuses:
            if row is None or row.status in ("canceled", "incomplete_expired"):
                raise NotFound(
                    "You have no subscription to change; choose a plan on the pricing page first",
                    code="no_subscription",
                )
            raise Conflict(_status_message(row), code="subscription_not_changeable")
        return Mirror(row.stripe_subscription_id, row.stripe_customer_id, row.updated_at.isoformat())


def _status_message(row: Subscription) -> str:
    status = row.status.replace("_", " ")
    if row.status in ("past_due", "unpaid"):
        return (
            f"Your subscription is {status}: pay the open invoice under Manage billing on your dashboard, "
            "then change your plan"
        )
    return f"Your subscription is {status}, so its plan cannot be changed now"


async def _stripe_subscription(
    stripe: StripeGateway, mirror: Mirror, statuses: frozenset[str]
) -> dict[str, Any]:
    try:
        subscription = await stripe.retrieve_subscription(mirror.stripe_subscription_id)
    except NotFound:
        raise NotFound("Stripe no longer knows your subscription", code="no_subscription") from None
    if subscription.get("status") not in statuses:
        status = str(subscription.get("status")).replace("_", " ")
        raise Conflict(
            f"Your subscription is {status} in Stripe, so its plan cannot be changed now",
            code="subscription_not_changeable",
        )
    return subscription


async def _plan_change(database: Database, stripe: StripeGateway, user: User, price_id: str) -> Change:
    mirror = await _read_mirror(database, user, CHANGEABLE_STATUSES)
    subscription = await _stripe_subscription(stripe, mirror, CHANGEABLE_STATUSES)
    items = (subscription.get("items") or {}).get("data") or []
    if len(items) != 1:
        raise Conflict(
            "Your subscription has several items; change it in the billing portal (Manage billing on your "
            "dashboard)",
            code="subscription_has_several_items",
        )
    item = items[0]
    current = service.stripe_id(item.get("price")) or ""
    if current == price_id:
        raise Conflict("You are on this plan already", code="already_on_plan")
    price = await offered_price(stripe, price_id)
    currency = subscription.get("currency") or (item.get("price") or {}).get("currency")
    if currency and price.get("currency") != currency:
        raise Unprocessable(
            f"That plan is billed in {str(price.get('currency')).upper()} and your subscription in "
            f"{str(currency).upper()}; choose a plan in {str(currency).upper()}",
            code="currency_mismatch",
        )
    return Change(mirror, item["id"], current, price)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt=_TOKEN_SALT)


def _token_facts(change: Change, proration: str) -> list[Any]:
    return [
        change.mirror.stripe_subscription_id,
        change.item_id,
        change.from_price_id,
        change.price["id"],
        proration,
    ]


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value is not None else None


def _line_is_proration(line: dict[str, Any]) -> bool:
    parent = (line.get("parent") or {}).get("subscription_item_details") or {}
    return bool(line.get("proration") or parent.get("proration"))


async def preview_change(
    database: Database,
    stripe: StripeGateway,
    settings: Settings,
    *,
    user: User,
    price_id: str,
    proration: Proration,
) -> ChangePreview:
    """Stripe's invoice preview of switching to `price_id`, and a token that bills the switch as shown."""
    change = await _plan_change(database, stripe, user, price_id)
    invoice = await stripe.preview_subscription_change(
        change.mirror.stripe_customer_id,
        change.mirror.stripe_subscription_id,
        item_id=change.item_id,
        price_id=price_id,
        metered=change.metered,
        proration_behavior=proration,
    )
    moment = preview_proration_date(invoice) if proration != "none" else None
    raw_lines = list((invoice.get("lines") or {}).get("data") or [])
    lines = [
        PreviewLine(
            description=line.get("description"),
            amount=int(line.get("amount") or 0),
            proration=_line_is_proration(line),
            period_start=_time((line.get("period") or {}).get("start")),
            period_end=_time((line.get("period") or {}).get("end")),
        )
        for line in raw_lines
    ]
    invoice_now = invoice.get("billing_reason") in IMMEDIATE_REASONS
    issued = utcnow()
    token = _serializer(settings).dumps([*_token_facts(change, proration), moment])
    return ChangePreview(
        subscription_id=change.mirror.stripe_subscription_id,
        from_price_id=change.from_price_id,
        price_id=price_id,
        proration=proration,
        currency=str(invoice.get("currency") or change.price.get("currency") or ""),
        proration_date=_time(moment),
        proration_amount=sum(line.amount for line in lines if line.proration),
        invoice_now=invoice_now,
        invoice_amount_due=int(invoice.get("amount_due") or 0),
        invoice_date=issued
        if invoice_now
        else _time(invoice.get("next_payment_attempt") or invoice.get("period_end")),
        lines=lines,
        preview_token=token,
        expires_at=issued + PREVIEW_TTL,
    )


def _previewed_moment(settings: Settings, token: str, change: Change, proration: str) -> int | None:
    try:
        facts = _serializer(settings).loads(token, max_age=int(PREVIEW_TTL.total_seconds()))
    except SignatureExpired:
        raise Conflict(
            "The preview of this change has expired; preview it again", code="preview_expired"
        ) from None
    except BadSignature:
        raise Unprocessable("The preview_token is not one we issued", code="invalid_preview_token") from None
    if not isinstance(facts, list) or facts[:-1] != _token_facts(change, proration):
        raise Conflict(
            "Your subscription or the chosen plan changed since this preview; preview the change again",
            code="preview_outdated",
        )
    moment = facts[-1]
    return int(moment) if moment is not None else None


async def change_plan(
    database: Database,
    stripe: StripeGateway,
    settings: Settings,
    *,
    user: User,
    price_id: str,
    proration: Proration,
    preview_token: str | None = None,
    attempt: str | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Switch the subscription's price in Stripe and mirror the result (`now`: the time of the change, for
    the price history; the tests' virtual clock)."""
    change = await _plan_change(database, stripe, user, price_id)
    moment = _previewed_moment(settings, preview_token, change, proration) if preview_token else None
    key = subscription_change_idempotency_key(
        change.mirror.stripe_subscription_id,
        change.item_id,
        change.from_price_id,
        price_id,
        proration,
        moment,
        change.mirror.generation,
        attempt,
    )
    updated = await stripe.change_subscription_price(
        change.mirror.stripe_subscription_id,
        item_id=change.item_id,
        price_id=price_id,
        metered=change.metered,
        proration_behavior=proration,
        proration_date=moment,
        idempotency_key=key,
    )
    return await _mirror(database, updated, user, changed_at=now or utcnow())


async def set_cancel_at_period_end(
    database: Database,
    stripe: StripeGateway,
    *,
    user: User,
    cancel: bool,
    attempt: str | None = None,
) -> Subscription:
    """Cancel at the end of the current period (`cancel`), or resume a subscription set to cancel. Asking
    for the state the subscription is in already changes nothing and answers it."""
    mirror = await _read_mirror(database, user, CANCELABLE_STATUSES)
    subscription = await _stripe_subscription(stripe, mirror, CANCELABLE_STATUSES)
    if bool(subscription.get("cancel_at_period_end")) != cancel:
        key = cancel_at_period_end_idempotency_key(
            mirror.stripe_subscription_id, cancel, mirror.generation, attempt
        )
        subscription = await stripe.set_cancel_at_period_end(
            mirror.stripe_subscription_id, cancel, idempotency_key=key
        )
    return await _mirror(database, subscription, user)


async def _mirror(
    database: Database, subscription: dict[str, Any], user: User, *, changed_at: datetime | None = None
) -> Subscription:
    async with database.write() as session:
        row = await service.sync_subscription(session, subscription, user_id=user.id, changed_at=changed_at)
        assert row is not None  # user_id given: the row is made if missing
        return row


async def plan_switch_portal_url(
    database: Database, stripe: StripeGateway, *, user: User, return_url: str
) -> str:
    """Stripe's billing portal opened on its plan-switching flow (`subscription_update`), returning to
    `return_url` when done: the way to switch when the portal shows Stripe's pricing table."""
    mirror = await _read_mirror(database, user, CHANGEABLE_STATUSES)
    flow = {
        "type": "subscription_update",
        "subscription_update": {"subscription": mirror.stripe_subscription_id},
        "after_completion": {"type": "redirect", "redirect": {"return_url": return_url}},
    }
    portal = await stripe.create_billing_portal_session(mirror.stripe_customer_id, return_url, flow)
    return str(portal["url"])
