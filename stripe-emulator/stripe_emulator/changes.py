"""Subscription updates the way Stripe makes them: price swaps, quantities, new and deleted items, cancel at
period end and resume, with Stripe's prorations. `plan_update` computes an update without changing anything
(what invoice previews show); `apply_update` makes it.

- `items[i][id]` + `items[i][price]` swaps the price of an existing item; the item keeps its id (and so its
  usage records). Without `items[i][quantity]` a licensed item's quantity becomes 1 (Stripe's rule).
  `items[i][deleted]=true` removes an item (a legacy metered one only with `clear_usage=true`, as Stripe
  requires); an entry without `id` adds an item. Items not named stay as they are.
- Prorations are made for licensed prices only (metered ones are billed in arrears): a credit for the unused
  time on what the item had and a charge for the remaining time on what it has now, each the full-period
  amount times (current_period_end - proration_date) / (current_period_end - current_period_start), by
  seconds, rounded half up to a minor unit. `proration_behavior`: `create_prorations` (the default) leaves
  them as pending invoice items for the next invoice; `always_invoice` invoices them at once
  (billing_reason `subscription_update`); `none` makes none, and the new price is first billed at renewal.
  `proration_date` (inside the current period) prorates as of that moment, so an update bills exactly what
  its preview showed. No prorations while trialing; none of zero amount (emulator choice).
- Metered prices: legacy usage records stay on the item and the period's usage is billed at its end at the
  price the item has then; a Billing Meter price bills only the meter's usage from the change on
  (usage.billed_quantity).
- A change of billing interval (month -> year) resets the billing cycle anchor to now and invoices at once:
  the prorations (the credit for unused time), the old items' metered usage so far and the new period's
  licensed charges.
- `cancel_at_period_end=true` sets `cancel_at` to the period end, where the subscription ends (a last invoice
  for the period's usage, `customer.subscription.deleted`); `false` resumes it.

An update emits `invoiceitem.created` per proration, the invoice events of an immediate invoice, and
`customer.subscription.updated` with `previous_attributes` when anything changed.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stripe_emulator import billing, pricing
from stripe_emulator.errors import invalid, not_found
from stripe_emulator.forms import as_bool, as_dict, as_int, as_list, enum, merge_metadata
from stripe_emulator.ids import new_id
from stripe_emulator.store import Store, clone

PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")


@dataclass
class Update:
    """An update worked out against the subscription as it is: nothing is stored until `apply_update`."""

    subscription: dict[str, Any]
    items: list[dict[str, Any]]  # the resulting items (copies; new ones not stored yet)
    removed: list[dict[str, Any]] = field(default_factory=list)
    cleared: set[str] = field(default_factory=set)  # items whose usage records go with them
    behavior: str = "create_prorations"
    proration_date: int = 0
    prorations: list[dict[str, Any]] = field(default_factory=list)  # invoice items to create
    reset_anchor: bool = False  # the billing interval changes: a new period starts now
    usage_lines: list[dict[str, Any]] = field(default_factory=list)  # reset: old metered usage so far
    cancel_at_period_end: bool | None = None
    metadata: dict[str, str] | None = None


def plan_update(
    store: Store,
    subscription: dict[str, Any],
    *,
    items: Any = None,
    items_param: str = "items",
    behavior: Any = None,
    behavior_param: str = "proration_behavior",
    proration_date: Any = None,
    proration_date_param: str = "proration_date",
    cancel_at_period_end: Any = None,
    cancel_param: str = "cancel_at_period_end",
    metadata: Any = None,
) -> Update:
    """Validate an update's params like Stripe and work out its result and prorations."""
    now = store.clock.now()
    start, end = subscription["current_period_start"], subscription["current_period_end"]
    mode = enum(behavior or "create_prorations", behavior_param, PRORATION_BEHAVIORS)
    if proration_date in (None, ""):
        moment = now
    else:
        moment = as_int(proration_date, proration_date_param)
        if not start <= moment <= end:
            raise invalid(
                "The proration date must be within the subscription's current billing period "
                f"({start} - {end}).",
                proration_date_param,
            )
    current = billing.items_of(store, subscription)
    result: dict[str, dict[str, Any]] = {item["id"]: clone(item) for item in current}
    update = Update(subscription, [], behavior=mode, proration_date=moment)
    for index, raw in enumerate(as_list(items, items_param)):
        _change_item(
            store,
            subscription,
            update,
            result,
            as_dict(raw, f"{items_param}[{index}]"),
            index,
            items_param,
            now,
        )
    update.items = list(result.values())
    _check_items(store, subscription, update.items, items_param)
    if cancel_at_period_end not in (None, ""):
        update.cancel_at_period_end = as_bool(cancel_at_period_end, cancel_param)
    if metadata is not None:
        update.metadata = merge_metadata(subscription["metadata"], metadata)
    old_interval = billing.interval_of(billing.first_price(store, current))
    new_interval = billing.interval_of(billing.first_price(store, update.items))
    update.reset_anchor = old_interval != new_interval and subscription["status"] != "trialing"
    if update.reset_anchor:
        update.usage_lines = billing.metered_lines(store, subscription, start, now, current)
    if mode != "none" and subscription["status"] != "trialing":
        update.prorations = _prorations(store, subscription, current, update)
    return update


def _change_item(
    store: Store,
    subscription: dict[str, Any],
    update: Update,
    result: dict[str, dict[str, Any]],
    change: dict[str, Any],
    index: int,
    items_param: str,
    now: int,
) -> None:
    param = f"{items_param}[{index}]"
    item_id = change.get("id")
    if not item_id:
        price = billing.resolve_price(store, change.get("price"), f"{param}[price]")
        quantity = billing.resolve_quantity(price, change.get("quantity"), f"{param}[quantity]")
        added = billing.new_item(
            store, subscription, price, quantity, merge_metadata({}, change.get("metadata"))
        )
        result[added["id"]] = added
        return
    found = result.get(str(item_id))
    if found is None:
        if store.get(str(item_id), "subscription_item") is None:
            raise not_found("subscription item", str(item_id), param=f"{param}[id]")
        raise invalid("That item does not belong to this subscription.", f"{param}[id]")
    item = found
    if as_bool(change.get("deleted", False), f"{param}[deleted]"):
        price = store.get(item["price"], "price") or {}
        clear = as_bool(change.get("clear_usage", False), f"{param}[clear_usage]")
        if billing.is_metered(price) and not price["recurring"].get("meter") and not clear:
            raise invalid(
                "Deleting a subscription item with a metered price that records usage requires "
                f"`{param}[clear_usage]=true`: its usage this period is then not billed.",
                f"{param}[clear_usage]",
            )
        update.removed.append(store.get(item["id"]) or item)
        if clear:
            update.cleared.add(item["id"])
        del result[item["id"]]
        return
    if change.get("price"):
        price = billing.resolve_price(store, change["price"], f"{param}[price]")
        if price["id"] != item["price"]:
            item["price"] = price["id"]
            item["quantity"] = None if billing.is_metered(price) else 1
            item["_price_since"] = now
    price = store.get(item["price"], "price") or {}
    if change.get("quantity") not in (None, ""):
        item["quantity"] = billing.resolve_quantity(price, change["quantity"], f"{param}[quantity]")
    if "metadata" in change:
        item["metadata"] = merge_metadata(item["metadata"], change["metadata"])


def _check_items(
    store: Store, subscription: dict[str, Any], items: list[dict[str, Any]], items_param: str
) -> None:
    if not items:
        raise invalid("A subscription must keep at least one item.", items_param)
    seen: set[str] = set()
    interval = None
    for item in items:
        price = store.get(item["price"], "price") or {}
        if price["id"] in seen:
            raise invalid(
                f"Cannot add multiple subscription items with the same price: {price['id']}", items_param
            )
        seen.add(price["id"])
        if price["currency"] != subscription["currency"]:
            raise invalid(
                f"The price specified uses currency `{price['currency']}`, but this subscription is billed "
                f"in `{subscription['currency']}`; all of a subscription's prices must share its currency.",
                items_param,
            )
        this_interval = billing.interval_of(price)
        if interval is not None and this_interval != interval:
            raise invalid(
                "The price specified has a different billing interval than the other items; all items must "
                "share the same interval.",
                items_param,
            )
        interval = this_interval


def _licensed(store: Store, item: dict[str, Any] | None) -> tuple[dict[str, Any], int] | None:
    if item is None:
        return None
    price = store.get(item["price"], "price")
    if price is None or billing.is_metered(price):
        return None
    return price, int(item.get("quantity") or 0)


def _prorations(
    store: Store, subscription: dict[str, Any], current: list[dict[str, Any]], update: Update
) -> list[dict[str, Any]]:
    """Credit for unused time on what changed, charge for remaining time on what replaced it."""
    start, end = subscription["current_period_start"], subscription["current_period_end"]
    span = end - start
    remaining = end - update.proration_date
    if span <= 0 or remaining <= 0:
        return []
    fraction = Decimal(remaining) / Decimal(span)
    after = {item["id"]: item for item in update.items}
    before = {item["id"]: item for item in current}
    result: list[dict[str, Any]] = []
    for item_id in list(before) + [i for i in after if i not in before]:
        old, new = _licensed(store, before.get(item_id)), _licensed(store, after.get(item_id))
        if old is not None and new is not None and (old[0]["id"], old[1]) == (new[0]["id"], new[1]):
            continue
        if old is not None:
            result += _proration(store, subscription, item_id, *old, fraction, update, credit=True)
        if new is not None and not update.reset_anchor:
            result += _proration(store, subscription, item_id, *new, fraction, update, credit=False)
    return result


def _proration(
    store: Store,
    subscription: dict[str, Any],
    item_id: str,
    price: dict[str, Any],
    quantity: int,
    fraction: Decimal,
    update: Update,
    *,
    credit: bool,
) -> list[dict[str, Any]]:
    full = pricing.exact_amount(price, quantity)
    amount = pricing.round_amount(full * fraction)
    if amount == 0:
        return []
    sign = -1 if credit else 1
    product = store.get(price["product"]) or {}
    label = f" ({price['nickname']})" if price.get("nickname") else ""
    count = f"{quantity} \u00d7 " if quantity != 1 else ""
    what = "Unused time" if credit else "Remaining time"
    unit = pricing.round_amount(full / quantity * fraction) if quantity else 0
    return [
        {
            "id": new_id("ii"),
            "object": "invoiceitem",
            "amount": sign * amount,
            "currency": price["currency"],
            "customer": subscription["customer"],
            "date": store.clock.now(),
            "description": f"{what} on {count}{product.get('name', price['product'])}{label} after "
            f"{billing.format_day(update.proration_date)}",
            "discountable": False,
            "discounts": [],
            "invoice": None,
            "livemode": False,
            "metadata": {},
            "period": {"start": update.proration_date, "end": subscription["current_period_end"]},
            "price": price["id"],
            "proration": True,
            "proration_details": {"credited_items": None},
            "quantity": quantity,
            "subscription": subscription["id"],
            "subscription_item": item_id,
            "tax_rates": [],
            "test_clock": None,
            "unit_amount": sign * unit,
            "unit_amount_decimal": str(sign * unit),
        }
    ]


def apply_update(store: Store, update: Update) -> dict[str, Any]:
    """Store the update's result, its prorations and any immediate invoice; emit the events."""
    subscription = update.subscription
    before = clone(subscription)
    before_items = clone(billing.items_of(store, subscription))
    now = store.clock.now()
    for item in update.removed:
        store.remove(item["id"])
        if item["id"] in update.cleared:
            store.usage_records.pop(item["id"], None)
    ids = []
    for item in update.items:
        stored = store.get(item["id"], "subscription_item")
        if stored is None:
            store.add(item)
        else:
            stored.clear()
            stored.update(item)
        ids.append(item["id"])
    subscription["_item_ids"] = ids
    if update.metadata is not None:
        subscription["metadata"] = update.metadata
    if update.cancel_at_period_end is not None:
        set_cancel_at_period_end(subscription, update.cancel_at_period_end, now)
    for invoice_item in update.prorations:
        store.add(invoice_item)
        store.emit("invoiceitem.created", invoice_item)
    if update.reset_anchor:
        _reset_anchor(store, subscription, update, now)
    elif update.behavior == "always_invoice" and billing.pending_invoice_items(store, subscription["id"]):
        invoice = billing.create_invoice(
            store, subscription, [], now, now, "subscription_update", created=now
        )
        subscription["latest_invoice"] = invoice["id"]
    billing.emit_subscription(store, "customer.subscription.updated", subscription, before, before_items)
    return subscription


def set_cancel_at_period_end(subscription: dict[str, Any], value: bool, now: int) -> None:
    """Schedule the cancellation at the period end (true) or take it back (false, "resume")."""
    if value == bool(subscription["cancel_at_period_end"]):
        return
    subscription["cancel_at_period_end"] = value
    subscription["cancel_at"] = subscription["current_period_end"] if value else None
    subscription["canceled_at"] = now if value else None
    subscription["cancellation_details"] = {
        "comment": None,
        "feedback": None,
        "reason": "cancellation_requested" if value else None,
    }


def _reset_anchor(store: Store, subscription: dict[str, Any], update: Update, now: int) -> None:
    old_start = subscription["current_period_start"]
    price = billing.first_price(store, billing.items_of(store, subscription))
    new_end = billing.boundary(price, now, 1)
    subscription.update(
        billing_cycle_anchor=now, current_period_start=now, current_period_end=new_end, _period_index=0
    )
    if subscription["cancel_at_period_end"]:
        subscription["cancel_at"] = new_end
    lines = update.usage_lines + billing.licensed_lines(store, subscription, now, new_end)
    invoice = billing.create_invoice(
        store, subscription, lines, old_start, now, "subscription_update", created=now
    )
    subscription["latest_invoice"] = invoice["id"]
    store.next_due = min(store.next_due, new_end)


def preview(store: Store, update: Update) -> tuple[list[dict[str, Any]], int, int, str]:
    """The invoice the update leads to: its lines, period and billing reason (not stored).

    An update that invoices at once (`always_invoice` with prorations, an interval change) shows that
    invoice; otherwise the renewal at the period end, the update's prorations on it.
    """
    subscription = update.subscription
    now = store.clock.now()
    start = subscription["current_period_start"]
    pending = billing.pending_invoice_items(store, subscription["id"]) + update.prorations
    if update.reset_anchor or (update.behavior == "always_invoice" and pending):
        lines = [billing.invoice_item_line(ii) for ii in pending] + update.usage_lines
        if update.reset_anchor:
            price = billing.first_price(store, update.items)
            lines += billing.licensed_lines(
                store, subscription, now, billing.boundary(price, now, 1), update.items
            )
        return lines, start, now, "subscription_update"
    shadow = dict(subscription)
    if update.cancel_at_period_end is not None:
        set_cancel_at_period_end(shadow, update.cancel_at_period_end, now)
    lines = billing.next_invoice_lines(store, shadow, update.items, update.prorations)
    return lines, start, subscription["current_period_end"], "upcoming"
