"""Subscriptions and subscription items: create, retrieve, list, update, cancel; version-dependent shape."""

from typing import Any

from stripe_emulator import billing
from stripe_emulator.errors import invalid
from stripe_emulator.forms import as_bool, as_dict, as_int, as_list, merge_metadata
from stripe_emulator.render import public, render, renderer
from stripe_emulator.resources.customers import live_customer
from stripe_emulator.resources.prices import plan_from_price
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store, clone
from stripe_emulator.versions import is_basil_or_later

_PERIOD_FIELDS = ("current_period_start", "current_period_end")


@renderer("subscription")
def render_subscription(store: Store, subscription: dict[str, Any], version: str) -> dict[str, Any]:
    out = public(subscription)
    basil = is_basil_or_later(version)
    items = [render(store, item, version) for item in billing.items_of(store, subscription)]
    if basil:
        for item in items:
            for key in _PERIOD_FIELDS:
                item[key] = subscription[key]
        for key in _PERIOD_FIELDS:
            out.pop(key, None)
    out["items"] = {
        "object": "list",
        "data": items,
        "has_more": False,
        "total_count": len(items),
        "url": f"/v1/subscription_items?subscription={subscription['id']}",
    }
    single = items[0] if len(items) == 1 else None
    out["plan"] = single["plan"] if single else None
    out["quantity"] = single.get("quantity") if single else None
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
    subscription = current(call, call.path["id"])
    if subscription["status"] == "canceled":
        raise invalid("A canceled subscription can only update its cancellation_details and metadata.")
    before = clone(subscription)
    params = call.params
    if "metadata" in params:
        subscription["metadata"] = merge_metadata(subscription["metadata"], params["metadata"])
    if "cancel_at_period_end" in params:
        subscription["cancel_at_period_end"] = as_bool(params["cancel_at_period_end"], "cancel_at_period_end")
        subscription["cancel_at"] = (
            subscription["current_period_end"] if subscription["cancel_at_period_end"] else None
        )
        subscription["canceled_at"] = call.now() if subscription["cancel_at_period_end"] else None
    if "items" in params:
        _update_items(call, subscription, as_list(params["items"], "items"))
    call.store.emit_update("customer.subscription.updated", subscription, before)
    return call.render(subscription)


def _update_items(call: Call, subscription: dict[str, Any], changes: list[Any]) -> None:
    store = call.store
    for i, raw in enumerate(changes):
        change = as_dict(raw, f"items[{i}]")
        item_id = change.get("id")
        if item_id:
            item = call.fetch("subscription_item", str(item_id), "subscription item", param=f"items[{i}][id]")
            if item["subscription"] != subscription["id"]:
                raise invalid("That item does not belong to this subscription.", f"items[{i}][id]")
            if as_bool(change.get("deleted", False), f"items[{i}][deleted]"):
                subscription["_item_ids"].remove(item["id"])
                store.remove(item["id"])
                continue
            if change.get("price"):
                resolved = billing.resolve_items(store, [{"price": change["price"]}], "items")[0]
                item["price"] = resolved["price"]["id"]
                item["quantity"] = resolved["quantity"]
            price = store.get(item["price"], "price") or {}
            if change.get("quantity") not in (None, ""):
                if billing.is_metered(price):
                    raise invalid(
                        "Quantity should not be specified where usage_type is `metered`.",
                        f"items[{i}][quantity]",
                    )
                item["quantity"] = as_int(change["quantity"], f"items[{i}][quantity]")
            if "metadata" in change:
                item["metadata"] = merge_metadata(item["metadata"], change["metadata"])
        else:
            entry = billing.resolve_items(store, [change], "items")[0]
            billing.add_item(store, subscription, entry["price"], entry["quantity"], entry["metadata"])
    if not subscription["_item_ids"]:
        raise invalid("A subscription must keep at least one item.", "items")


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
