"""Subscriptions and subscription items: create, retrieve, list, update (changes.py), cancel; shapes per
API version (from 2025-03-31.basil the billing period is on each item, not on the subscription)."""

from typing import Any

from stripe_emulator import billing, changes
from stripe_emulator.errors import invalid
from stripe_emulator.forms import as_bool, as_int, merge_metadata
from stripe_emulator.render import previous_renderer, public, render, renderer
from stripe_emulator.resources.customers import live_customer
from stripe_emulator.resources.prices import plan_from_price
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store
from stripe_emulator.versions import is_basil_or_later

_PERIOD_FIELDS = ("current_period_start", "current_period_end")


def _items_list(
    store: Store, subscription: dict[str, Any], items: list[dict[str, Any]], version: str
) -> dict[str, Any]:
    data = [render(store, item, version) for item in items]
    if is_basil_or_later(version):
        for item in data:
            for key in _PERIOD_FIELDS:
                item[key] = subscription.get(key)
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "total_count": len(data),
        "url": f"/v1/subscription_items?subscription={subscription['id']}",
    }


@renderer("subscription")
def render_subscription(store: Store, subscription: dict[str, Any], version: str) -> dict[str, Any]:
    out = public(subscription)
    # An event's copy carries the items as they were then (billing.emit_subscription).
    items = subscription.get("_items")
    out["items"] = _items_list(
        store, subscription, billing.items_of(store, subscription) if items is None else items, version
    )
    if is_basil_or_later(version):
        for key in _PERIOD_FIELDS:
            out.pop(key, None)
    data = out["items"]["data"]
    single = data[0] if len(data) == 1 else None
    out["plan"] = single["plan"] if single else None
    out["quantity"] = single.get("quantity") if single else None
    return out


@previous_renderer("subscription")
def render_previous(store: Store, previous: dict[str, Any], version: str) -> dict[str, Any]:
    """`previous_attributes` of a subscription event: changed fields, and the old `items` (with `plan` and
    `quantity` of a single-item subscription) when the items changed."""
    out = public(previous)
    old_items = previous.get("_items")
    if old_items is not None:
        subscription = {"id": old_items[0]["subscription"] if old_items else ""}
        for key in _PERIOD_FIELDS:
            subscription[key] = previous.get(key)
        listed = _items_list(store, subscription, old_items, version)
        if is_basil_or_later(version):
            for item in listed["data"]:
                for key in _PERIOD_FIELDS:
                    if item.get(key) is None:
                        item.pop(key, None)
        out["items"] = listed
        single = listed["data"][0] if len(listed["data"]) == 1 else None
        out["plan"] = single["plan"] if single else None
        out["quantity"] = single.get("quantity") if single else None
    if is_basil_or_later(version):
        for key in _PERIOD_FIELDS:
            out.pop(key, None)
    return out


@renderer("subscription_item")
def render_item(store: Store, item: dict[str, Any], version: str) -> dict[str, Any]:
    out = public(item)
    price = store.get(item["price"], "price")
    if price is not None:
        out["price"] = render(store, price, version)
        out["plan"] = plan_from_price(price)
        if is_basil_or_later(version):
            out["plan"].pop("aggregate_usage", None)
        if billing.is_metered(price):
            out.pop("quantity", None)
    subscription = store.get(item["subscription"], "subscription")
    if subscription is not None and is_basil_or_later(version):
        for key in _PERIOD_FIELDS:
            out[key] = subscription[key]
    return out


def current(call: Call, subscription_id: str, param: str = "id") -> dict[str, Any]:
    """Fetch a subscription rolled forward to the virtual clock."""
    subscription = call.fetch("subscription", subscription_id, "subscription", param=param)
    billing.advance(call.store, subscription)
    return subscription


@route("POST", "/v1/subscriptions")
def create(call: Call) -> dict[str, Any]:
    customer = live_customer(call, str(call.require("customer")))
    items = billing.resolve_items(call.store, call.params.get("items"))
    trial = call.params.get("trial_period_days")
    trial_days = as_int(trial, "trial_period_days") if trial not in (None, "") else None
    subscription = billing.create_subscription(
        call.store,
        customer["id"],
        items,
        metadata=merge_metadata({}, call.params.get("metadata")),
        trial_period_days=trial_days,
    )
    return call.render(subscription)


@route("GET", "/v1/subscriptions/{id}")
def retrieve(call: Call) -> dict[str, Any]:
    return call.render(current(call, call.path["id"]))


@route("GET", "/v1/subscriptions")
def list_subscriptions(call: Call) -> dict[str, Any]:
    billing.advance_all(call.store)
    params = call.params
    items = call.store.all("subscription")
    status = params.get("status")
    if status and status != "all":
        items = [s for s in items if s["status"] == status]
    elif not status:
        items = [s for s in items if s["status"] not in ("canceled", "incomplete_expired")]
    if params.get("customer"):
        items = [s for s in items if s["customer"] == params["customer"]]
    if params.get("price"):
        wanted = params["price"]
        items = [s for s in items if any(i["price"] == wanted for i in billing.items_of(call.store, s))]
    return call.page(items, "/v1/subscriptions")


@route("POST", "/v1/subscriptions/{id}")
def update(call: Call) -> dict[str, Any]:
    """Update a subscription: items (price swap, quantity, add, delete), proration_behavior, proration_date,
    cancel_at_period_end (true: cancel at the period end, false: resume) and metadata (see changes.py)."""
    subscription = current(call, call.path["id"])
    params = call.params
    if subscription["status"] in ("canceled", "incomplete_expired"):
        if set(params) - {"metadata", "cancellation_details", "expand"}:
            raise invalid("A canceled subscription can only update its cancellation_details and metadata.")
        before = dict(subscription)
        if "metadata" in params:
            subscription["metadata"] = merge_metadata(subscription["metadata"], params["metadata"])
        billing.emit_subscription(call.store, "customer.subscription.updated", subscription, before)
        return call.render(subscription)
    planned = changes.plan_update(
        call.store,
        subscription,
        items=params.get("items"),
        behavior=params.get("proration_behavior"),
        proration_date=params.get("proration_date"),
        cancel_at_period_end=params.get("cancel_at_period_end"),
        metadata=params.get("metadata"),
    )
    return call.render(changes.apply_update(call.store, planned))


@route("DELETE", "/v1/subscriptions/{id}")
def cancel(call: Call) -> dict[str, Any]:
    subscription = current(call, call.path["id"])
    if subscription["status"] == "canceled":
        raise invalid(
            f"A canceled subscription can't be canceled again: {subscription['id']}",
            code="resource_missing",
        )
    invoice_now = as_bool(call.params.get("invoice_now", False), "invoice_now")
    billing.cancel_subscription(call.store, subscription, invoice_now=invoice_now)
    return call.render(subscription)


@route("GET", "/v1/subscription_items")
def list_items(call: Call) -> dict[str, Any]:
    subscription = current(call, str(call.require("subscription")), param="subscription")
    items = list(reversed(billing.items_of(call.store, subscription)))
    return call.page(items, f"/v1/subscription_items?subscription={subscription['id']}")


@route("GET", "/v1/subscription_items/{id}")
def retrieve_item(call: Call) -> dict[str, Any]:
    item = call.fetch("subscription_item", call.path["id"], "subscription item")
    current(call, item["subscription"])
    return call.render(item)
