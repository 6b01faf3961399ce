"""Subscription lifecycle: creation, period roll-over with invoices, cancellation, status changes.

Invoices take the subscription's pending invoice items (the prorations of earlier updates, see changes.py)
first, then its subscription lines. A negative total goes to the customer's credit balance (Stripe's
`balance`, negative = credit), which the next invoice uses up before anything is charged.
"""

from datetime import UTC, datetime
from typing import Any

from stripe_emulator import pricing
from stripe_emulator.errors import invalid, missing, not_found
from stripe_emulator.forms import as_dict, as_int, as_list, merge_metadata
from stripe_emulator.ids import new_id
from stripe_emulator.periods import period_boundary
from stripe_emulator.store import Store, clone
from stripe_emulator.usage import billed_quantity

NEVER = 2**62
# Statuses whose periods keep rolling (and so keep producing invoices).
ROLLING = ("active", "trialing", "past_due", "unpaid")
STATUSES = (
    "incomplete",
    "incomplete_expired",
    "trialing",
    "active",
    "past_due",
    "canceled",
    "unpaid",
    "paused",
)


def is_metered(price: dict[str, Any]) -> bool:
    return bool(price.get("recurring")) and price["recurring"]["usage_type"] == "metered"


def resolve_price(store: Store, price_id: Any, param: str) -> dict[str, Any]:
    """A price a subscription item may have: it exists, is recurring and active."""
    if not price_id:
        raise missing(param)
    price = store.get(str(price_id), "price")
    if price is None:
        raise not_found("price", str(price_id), param=param)
    if not price["recurring"]:
        raise invalid(
            "The price specified is set to `type=one_time` but this field only accepts prices with "
            "`type=recurring`.",
            param,
        )
    if not price["active"]:
        raise invalid(f"The price specified is inactive: {price['id']}", param)
    return price


def resolve_quantity(price: dict[str, Any], quantity: Any, param: str) -> int | None:
    """An item's quantity: none for a metered price (refused if given), else 1 unless given."""
    if is_metered(price):
        if quantity not in (None, ""):
            raise invalid(
                f"Quantity should not be specified where usage_type is `metered`. Remove quantity from "
                f"`{param.rsplit('[', 1)[0]}`.",
                param,
            )
        return None
    value = 1 if quantity in (None, "") else as_int(quantity, param)
    if value < 0:
        raise invalid("Invalid non-negative integer", param)
    return value


def interval_of(price: dict[str, Any]) -> tuple[str, int]:
    return price["recurring"]["interval"], price["recurring"]["interval_count"]


def resolve_items(store: Store, raw_items: Any, param: str = "items") -> list[dict[str, Any]]:
    """Validate ``items[i][price]`` / ``[quantity]`` into ``[{price, quantity, metadata}]``."""
    items = as_list(raw_items, param)
    if not items:
        raise missing(param)
    resolved: list[dict[str, Any]] = []
    interval = None
    for i, raw in enumerate(items):
        entry = as_dict(raw, f"{param}[{i}]")
        price = resolve_price(store, entry.get("price"), f"{param}[{i}][price]")
        quantity = resolve_quantity(price, entry.get("quantity"), f"{param}[{i}][quantity]")
        this_interval = interval_of(price)
        if interval is not None and this_interval != interval:
            raise invalid(
                "The price specified has a different billing interval than the other items; all items must "
                "share the same interval.",
                f"{param}[{i}][price]",
            )
        if resolved and price["currency"] != resolved[0]["price"]["currency"]:
            raise invalid("All prices on a subscription must share one currency.", f"{param}[{i}][price]")
        interval = this_interval
        metadata = merge_metadata({}, entry.get("metadata"))
        resolved.append({"price": price, "quantity": quantity, "metadata": metadata})
    return resolved


def create_subscription(
    store: Store,
    customer_id: str,
    items: list[dict[str, Any]],
    *,
    metadata: dict[str, str] | None = None,
    trial_period_days: int | None = None,
) -> dict[str, Any]:
    """Create an active (or trialing) subscription, its items and its first, paid invoice."""
    now = store.clock.now()
    first = items[0]["price"]
    subscription_id = new_id("sub")
    trial_end = now + trial_period_days * 86_400 if trial_period_days else None
    anchor = trial_end or now
    subscription: dict[str, Any] = {
        "id": subscription_id,
        "object": "subscription",
        "application": None,
        "billing_cycle_anchor": anchor,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": first["currency"],
        "current_period_start": now,
        "current_period_end": trial_end or _boundary(first, anchor, 1),
        "customer": customer_id,
        "days_until_due": None,
        "default_payment_method": None,
        "description": None,
        "discount": None,
        "ended_at": None,
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "pause_collection": None,
        "start_date": now,
        "status": "trialing" if trial_end else "active",
        "trial_end": trial_end,
        "trial_start": now if trial_end else None,
        "_item_ids": [],
        "_period_index": 0,
    }
    store.add(subscription)
    for entry in items:
        add_item(store, subscription, entry["price"], entry["quantity"], entry.get("metadata"))
    emit_subscription(store, "customer.subscription.created", subscription)
    lines = [] if trial_end else licensed_lines(store, subscription, now, subscription["current_period_end"])
    invoice = create_invoice(store, subscription, lines, now, now, "subscription_create", created=now)
    subscription["latest_invoice"] = invoice["id"]
    store.next_due = min(store.next_due, subscription["current_period_end"])
    return subscription


def add_item(
    store: Store,
    subscription: dict[str, Any],
    price: dict[str, Any],
    quantity: int | None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    item = store.add(new_item(store, subscription, price, quantity, metadata))
    subscription["_item_ids"].append(item["id"])
    return item


def new_item(
    store: Store,
    subscription: dict[str, Any],
    price: dict[str, Any],
    quantity: int | None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A subscription item (not stored yet)."""
    return {
        "id": new_id("si"),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": store.clock.now(),
        "discounts": [],
        "metadata": dict(metadata or {}),
        "price": price["id"],
        "quantity": quantity,
        "subscription": subscription["id"],
        "tax_rates": [],
        # When the item got its current price: a Billing Meter price bills usage from then on.
        "_price_since": store.clock.now(),
    }


def items_of(store: Store, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for i in subscription["_item_ids"] if (item := store.get(i)) is not None]


def emit_subscription(
    store: Store,
    event_type: str,
    subscription: dict[str, Any],
    before: dict[str, Any] | None = None,
    before_items: list[dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """A subscription event whose object (items included) is the subscription as it is now.

    Items live apart from the subscription, so the event carries a copy of them (`_items`), and an update
    whose items changed names the old ones in `previous_attributes` (rendered like Stripe's: `items`, and
    `plan` / `quantity` for a single-item subscription).
    """
    items = clone(items_of(store, subscription))
    snapshot = {**subscription, "_items": items}
    if before is None:
        return store.emit(event_type, snapshot)
    previous = {
        k: before.get(k)
        for k in set(before) | set(subscription)
        if not k.startswith("_") and before.get(k) != subscription.get(k)
    }
    if before_items is not None and _item_view(before_items) != _item_view(items):
        previous["_items"] = clone(before_items)
    if not previous:
        return None
    return store.emit(event_type, snapshot, previous)


def _item_view(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(i["id"], i["price"], i.get("quantity"), i.get("metadata")) for i in items]


def boundary(price: dict[str, Any], anchor: int, index: int) -> int:
    """The start of billing period ``index`` of ``price``'s interval counted from ``anchor``."""
    recurring = price["recurring"]
    return period_boundary(anchor, recurring["interval"], recurring["interval_count"], index)


_boundary = boundary


def first_price(store: Store, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The price of the first of ``items`` (the one that sets the subscription's interval)."""
    for item in items:
        price = store.get(item["price"], "price")
        if price is not None:
            return price
    raise invalid("Subscription has no items")


def _first_price(
    store: Store, subscription: dict[str, Any], items: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return first_price(store, items_of(store, subscription) if items is None else items)


# invoice lines


def line(
    store: Store,
    subscription: dict[str, Any],
    item: dict[str, Any],
    price: dict[str, Any],
    quantity: Any,
    start: int,
    end: int,
    line_id: str | None = None,
) -> dict[str, Any]:
    product = store.get(price["product"]) or {}
    amount = pricing.amount_for_quantity(price, quantity)
    name = product.get("name", price["product"])
    label = f" ({price['nickname']})" if price.get("nickname") else ""
    return {
        "id": line_id or new_id("il"),
        "object": "line_item",
        "amount": amount,
        "amount_excluding_tax": amount,
        "currency": price["currency"],
        "description": f"{quantity} \u00d7 {name}{label}",
        "discount_amounts": [],
        "discountable": True,
        "livemode": False,
        "metadata": {},
        "period": {"start": start, "end": end},
        "price": price["id"],
        "proration": False,
        "quantity": int(quantity) if quantity == int(quantity) else str(quantity),
        "subscription": subscription["id"],
        "subscription_item": item["id"],
        "type": "subscription",
    }


def licensed_lines(
    store: Store,
    subscription: dict[str, Any],
    start: int,
    end: int,
    items: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Licensed items (``items``, default the subscription's) are billed in advance for ``[start, end)``."""
    result = []
    for item in items_of(store, subscription) if items is None else items:
        price = store.get(item["price"], "price")
        if price is not None and not is_metered(price):
            result.append(line(store, subscription, item, price, item["quantity"] or 0, start, end))
    return result


def metered_lines(
    store: Store,
    subscription: dict[str, Any],
    start: int,
    end: int,
    items: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Metered items are billed in arrears for the usage in ``[start, end)`` (see usage.billed_quantity)."""
    result = []
    for item in items_of(store, subscription) if items is None else items:
        price = store.get(item["price"], "price")
        if price is not None and is_metered(price):
            quantity = billed_quantity(store, subscription["customer"], item, price, start, end)
            result.append(line(store, subscription, item, price, quantity, start, end))
    return result


def next_invoice_lines(
    store: Store,
    subscription: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    extra_pending: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """What the renewal at current_period_end bills: pending invoice items (prorations), usage of this
    period and licensed for the next one. ``items``/``extra_pending``: a proposed update (previews)."""
    start, end = subscription["current_period_start"], subscription["current_period_end"]
    pending = pending_invoice_items(store, subscription["id"]) + list(extra_pending or [])
    lines = metered_lines(store, subscription, start, end, items)
    if not _ends_at_period_end(subscription):
        next_end = _next_period_end(store, subscription, items)
        lines = licensed_lines(store, subscription, end, next_end, items) + lines
    return [invoice_item_line(ii) for ii in pending] + lines


# invoice items (prorations waiting for the next invoice)


def pending_invoice_items(store: Store, subscription_id: str) -> list[dict[str, Any]]:
    """The subscription's invoice items not on an invoice yet, oldest first."""
    found = [
        ii
        for ii in store.all("invoiceitem")
        if ii["subscription"] == subscription_id and ii["invoice"] is None
    ]
    return list(reversed(found))


def invoice_item_line(ii: dict[str, Any]) -> dict[str, Any]:
    """The invoice line of an invoice item (``type=invoiceitem``)."""
    return {
        "id": new_id("il"),
        "object": "line_item",
        "amount": ii["amount"],
        "amount_excluding_tax": ii["amount"],
        "currency": ii["currency"],
        "description": ii["description"],
        "discount_amounts": [],
        "discountable": ii["discountable"],
        "invoice_item": ii["id"],
        "livemode": False,
        "metadata": dict(ii["metadata"]),
        "period": dict(ii["period"]),
        "price": ii["price"],
        "proration": ii["proration"],
        "quantity": ii["quantity"],
        "subscription": ii["subscription"],
        "subscription_item": ii["subscription_item"],
        "type": "invoiceitem",
    }


def format_day(timestamp: int) -> str:
    """Stripe's date in proration descriptions: ``16 Jan 2026``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %b %Y")


def _ends_at_period_end(subscription: dict[str, Any]) -> bool:
    cancel_at = subscription.get("cancel_at")
    return bool(subscription["cancel_at_period_end"]) or (
        cancel_at is not None and cancel_at <= subscription["current_period_end"]
    )


def _next_period_end(
    store: Store, subscription: dict[str, Any], items: list[dict[str, Any]] | None = None
) -> int:
    price = _first_price(store, subscription, items)
    if subscription["status"] == "trialing":
        return _boundary(price, subscription["current_period_end"], 1)
    return _boundary(price, subscription["billing_cycle_anchor"], subscription["_period_index"] + 2)


def invoice_shape(
    store: Store,
    subscription: dict[str, Any],
    lines: list[dict[str, Any]],
    period_start: int,
    period_end: int,
    billing_reason: str,
    invoice_id: str,
    created: int,
) -> dict[str, Any]:
    """An invoice object (unsaved) for ``lines``; also used for previews."""
    customer = store.get(subscription["customer"]) or {}
    total = sum(line["amount"] for line in lines)
    starting_balance = int(customer.get("balance") or 0)
    # The balance is added (negative: a credit pays for the invoice first); a negative result is credit.
    amount_due = max(total + starting_balance, 0)
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Stripe Emulator",
        "amount_due": amount_due,
        "amount_paid": 0,
        "amount_remaining": amount_due,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": False,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": subscription["currency"],
        "customer": subscription["customer"],
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "description": None,
        "due_date": None,
        "ending_balance": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "paid": False,
        "period_start": period_start,
        "period_end": period_end,
        "starting_balance": starting_balance,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subscription": subscription["id"],
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "tax": None,
        "total": total,
        "total_excluding_tax": total,
    }


def create_invoice(
    store: Store,
    subscription: dict[str, Any],
    lines: list[dict[str, Any]],
    period_start: int,
    period_end: int,
    billing_reason: str,
    created: int,
) -> dict[str, Any]:
    """Create, finalize and (when the subscription is in good standing) pay an invoice, with events.

    The subscription's pending invoice items go on it first."""
    invoice_id = new_id("in")
    pending = pending_invoice_items(store, subscription["id"])
    lines = [invoice_item_line(ii) for ii in pending] + lines
    invoice = invoice_shape(
        store, subscription, lines, period_start, period_end, billing_reason, invoice_id, created
    )
    for ii in pending:
        ii["invoice"] = invoice_id
    customer = store.get(subscription["customer"]) or {}
    invoice["number"] = f"{customer.get('invoice_prefix', 'EMU')}-{store.next_number('invoice'):04d}"
    if customer:
        before_balance = clone(customer)
        customer["balance"] = min(invoice["total"] + invoice["starting_balance"], 0)
        invoice["ending_balance"] = customer["balance"]
        store.emit_update("customer.updated", customer, before_balance)
    store.add(invoice)
    store.emit("invoice.created", invoice)
    invoice["status"] = "open"
    invoice["status_transitions"]["finalized_at"] = created
    store.emit("invoice.finalized", invoice)
    if subscription["status"] in ("active", "trialing") or invoice["amount_due"] == 0:
        invoice.update(status="paid", paid=True, amount_paid=invoice["amount_due"], amount_remaining=0)
        invoice["attempted"], invoice["attempt_count"] = (
            invoice["amount_due"] > 0,
            int(invoice["amount_due"] > 0),
        )
        invoice["status_transitions"]["paid_at"] = created
        store.emit("invoice.paid", invoice)
    else:
        invoice.update(attempted=True, attempt_count=1)
        store.emit("invoice.payment_failed", invoice)
    return invoice


# roll-over


def advance(store: Store, subscription: dict[str, Any]) -> None:
    """Roll ``subscription`` through every period the virtual clock has passed, invoicing each."""
    now = store.clock.now()
    while subscription["status"] in ROLLING and now >= subscription["current_period_end"]:
        before = clone(subscription)
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        if _ends_at_period_end(subscription):
            lines = metered_lines(store, subscription, start, end)
            invoice = create_invoice(
                store, subscription, lines, start, end, "subscription_cycle", created=end
            )
            subscription["latest_invoice"] = invoice["id"]
            _end(store, subscription, at=end)
            return
        price = _first_price(store, subscription)
        if subscription["status"] == "trialing":
            subscription["status"] = "active"
            subscription["billing_cycle_anchor"] = end
            subscription["_period_index"] = 0
            next_end = _boundary(price, end, 1)
        else:
            subscription["_period_index"] += 1
            next_end = _boundary(
                price, subscription["billing_cycle_anchor"], subscription["_period_index"] + 1
            )
        lines = metered_lines(store, subscription, start, end)
        subscription["current_period_start"], subscription["current_period_end"] = end, next_end
        lines = licensed_lines(store, subscription, end, next_end) + lines
        invoice = create_invoice(store, subscription, lines, start, end, "subscription_cycle", created=end)
        subscription["latest_invoice"] = invoice["id"]
        emit_subscription(store, "customer.subscription.updated", subscription, before)


def advance_all(store: Store) -> None:
    """Roll every subscription; remembers the next period end so requests can skip this cheaply."""
    next_due = NEVER
    for subscription in store.all("subscription"):
        advance(store, subscription)
        if subscription["status"] in ROLLING:
            next_due = min(next_due, subscription["current_period_end"])
    store.next_due = next_due


def advance_if_due(store: Store) -> None:
    """Called on every API request: roll subscriptions once the virtual clock passes a period end."""
    if store.clock.now() >= store.next_due:
        advance_all(store)


def _end(store: Store, subscription: dict[str, Any], at: int) -> None:
    subscription.update(status="canceled", ended_at=at, canceled_at=subscription["canceled_at"] or at)
    if not subscription.get("cancellation_details", {}).get("reason"):
        subscription["cancellation_details"] = {
            "comment": None,
            "feedback": None,
            "reason": "cancellation_requested",
        }
    emit_subscription(store, "customer.subscription.deleted", subscription)


def cancel_subscription(store: Store, subscription: dict[str, Any], *, invoice_now: bool = False) -> None:
    """Cancel immediately (``DELETE /v1/subscriptions/{id}``); optionally invoice usage so far."""
    now = store.clock.now()
    if invoice_now:
        start = subscription["current_period_start"]
        lines = metered_lines(store, subscription, start, now)
        invoice = create_invoice(store, subscription, lines, start, now, "subscription_cycle", created=now)
        subscription["latest_invoice"] = invoice["id"]
    subscription["canceled_at"] = now
    _end(store, subscription, at=now)


def set_status(store: Store, subscription: dict[str, Any], status: str) -> None:
    """Force a status (the /_emulator control), emitting the matching subscription event."""
    if status not in STATUSES:
        raise invalid(f"Invalid status: {status}", "status")
    if status == "canceled":
        if subscription["status"] != "canceled":
            cancel_subscription(store, subscription)
        return
    before = clone(subscription)
    subscription["status"] = status
    subscription["ended_at"] = None
    store.next_due = 0
    emit_subscription(store, "customer.subscription.updated", subscription, before)
