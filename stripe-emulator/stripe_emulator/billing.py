"""Subscription lifecycle: creation, period roll-over with invoices, cancellation, status changes."""

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


def resolve_items(store: Store, raw_items: Any, param: str = "items") -> list[dict[str, Any]]:
    """Validate ``items[i][price]`` / ``[quantity]`` into ``[{price, quantity, metadata}]``."""
    items = as_list(raw_items, param)
    if not items:
        raise missing(param)
    resolved: list[dict[str, Any]] = []
    interval = None
    for i, raw in enumerate(items):
        entry = as_dict(raw, f"{param}[{i}]")
        price_id = entry.get("price")
        if not price_id:
            raise missing(f"{param}[{i}][price]")
        price = store.get(str(price_id), "price")
        if price is None:
            raise not_found("price", str(price_id), param=f"{param}[{i}][price]")
        if not price["recurring"]:
            raise invalid(
                "The price specified is set to `type=one_time` but this field only accepts prices with "
                "`type=recurring`.",
                f"{param}[{i}][price]",
            )
        if not price["active"]:
            raise invalid(f"The price specified is inactive: {price['id']}", f"{param}[{i}][price]")
        quantity = entry.get("quantity")
        if is_metered(price):
            if quantity not in (None, ""):
                raise invalid(
                    "Quantity should not be specified where usage_type is `metered`. "
                    f"Remove quantity from `{param}[{i}]`.",
                    f"{param}[{i}][quantity]",
                )
            quantity = None
        else:
            quantity = 1 if quantity in (None, "") else as_int(quantity, f"{param}[{i}][quantity]")
            if quantity < 0:
                raise invalid("Invalid non-negative integer", f"{param}[{i}][quantity]")
        this_interval = (price["recurring"]["interval"], price["recurring"]["interval_count"])
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
    store.emit("customer.subscription.created", subscription)
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
    item = store.add(
        {
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
        }
    )
    subscription["_item_ids"].append(item["id"])
    return item


def items_of(store: Store, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for i in subscription["_item_ids"] if (item := store.get(i)) is not None]


def _boundary(price: dict[str, Any], anchor: int, index: int) -> int:
    recurring = price["recurring"]
    return period_boundary(anchor, recurring["interval"], recurring["interval_count"], index)


def _first_price(store: Store, subscription: dict[str, Any]) -> dict[str, Any]:
    for item in items_of(store, subscription):
        price = store.get(item["price"], "price")
        if price is not None:
            return price
    raise invalid("Subscription has no items")


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


def licensed_lines(store: Store, subscription: dict[str, Any], start: int, end: int) -> list[dict[str, Any]]:
    """Licensed items are billed in advance for ``[start, end)``."""
    result = []
    for item in items_of(store, subscription):
        price = store.get(item["price"], "price")
        if price is not None and not is_metered(price):
            result.append(line(store, subscription, item, price, item["quantity"] or 0, start, end))
    return result


def metered_lines(store: Store, subscription: dict[str, Any], start: int, end: int) -> list[dict[str, Any]]:
    """Metered items are billed in arrears for the usage in ``[start, end)``."""
    result = []
    for item in items_of(store, subscription):
        price = store.get(item["price"], "price")
        if price is not None and is_metered(price):
            quantity = billed_quantity(store, subscription["customer"], item, price, start, end)
            result.append(line(store, subscription, item, price, quantity, start, end))
    return result


def next_invoice_lines(store: Store, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    """What the renewal at current_period_end bills: usage of this period + licensed for the next one."""
    start, end = subscription["current_period_start"], subscription["current_period_end"]
    lines = metered_lines(store, subscription, start, end)
    if not _ends_at_period_end(subscription):
        next_end = _next_period_end(store, subscription)
        lines = licensed_lines(store, subscription, end, next_end) + lines
    return lines


def _ends_at_period_end(subscription: dict[str, Any]) -> bool:
    cancel_at = subscription.get("cancel_at")
    return bool(subscription["cancel_at_period_end"]) or (
        cancel_at is not None and cancel_at <= subscription["current_period_end"]
    )


def _next_period_end(store: Store, subscription: dict[str, Any]) -> int:
    price = _first_price(store, subscription)
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
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Stripe Emulator",
        "amount_due": total,
        "amount_paid": 0,
        "amount_remaining": total,
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
    """Create, finalize and (when the subscription is in good standing) pay an invoice, with events."""
    invoice_id = new_id("in")
    invoice = invoice_shape(
        store, subscription, lines, period_start, period_end, billing_reason, invoice_id, created
    )
    customer = store.get(subscription["customer"]) or {}
    invoice["number"] = f"{customer.get('invoice_prefix', 'EMU')}-{store.next_number('invoice'):04d}"
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
        store.emit_update("customer.subscription.updated", subscription, before)


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
    store.emit("customer.subscription.deleted", subscription)


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
    store.emit_update("customer.subscription.updated", subscription, before)
