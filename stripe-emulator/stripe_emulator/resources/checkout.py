"""Checkout Sessions (mode=subscription): create, retrieve, list, line items, expire, and completion."""

from typing import Any

from stripe_emulator import billing, pricing
from stripe_emulator.errors import invalid, missing, not_found
from stripe_emulator.forms import as_dict, as_int, merge_metadata
from stripe_emulator.ids import new_id
from stripe_emulator.render import expander, list_object, render
from stripe_emulator.resources.customers import create_customer
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store, clone

SESSION_LIFETIME = 24 * 3600


def checkout_url(base_url: str, session_id: str) -> str:
    return f"{base_url.rstrip('/')}/c/pay/{session_id}"


def success_redirect(session: dict[str, Any]) -> str:
    return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])


@route("POST", "/v1/checkout/sessions")
def create(call: Call) -> dict[str, Any]:
    params, store = call.params, call.store
    mode = params.get("mode")
    if not mode:
        raise missing("mode")
    if mode != "subscription":
        raise invalid("The emulator supports only `mode=subscription` Checkout Sessions.", "mode")
    if not params.get("success_url"):
        raise missing("success_url")
    if params.get("customer") and params.get("customer_email"):
        raise invalid("You may only specify one of these parameters: customer, customer_email.", "customer")
    if params.get("customer"):
        customer = call.fetch("customer", str(params["customer"]), "customer", "customer")
        if customer.get("_deleted"):
            raise not_found("customer", customer["id"], "customer")
    items = billing.resolve_items(store, params.get("line_items"), "line_items")
    subscription_data = as_dict(params.get("subscription_data"), "subscription_data")
    trial = subscription_data.get("trial_period_days")
    now = call.now()
    session_id = new_id("cs_test", 58)
    line_items = [_line_item(store, entry, trial not in (None, "")) for entry in items]
    amount = sum(li["amount_total"] for li in line_items)
    session = store.add(
        {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": amount,
            "amount_total": amount,
            "billing_address_collection": None,
            "cancel_url": params.get("cancel_url") or None,
            "client_reference_id": params.get("client_reference_id") or None,
            "created": now,
            "currency": items[0]["price"]["currency"],
            "customer": params.get("customer") or None,
            "customer_creation": None,
            "customer_details": None,
            "customer_email": params.get("customer_email") or None,
            "expires_at": now + SESSION_LIFETIME,
            "invoice": None,
            "livemode": False,
            "locale": None,
            "metadata": merge_metadata({}, params.get("metadata")),
            "mode": "subscription",
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "success_url": str(params["success_url"]),
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": checkout_url(call.base_url, session_id),
            "_line_items": line_items,
            "_subscription_data": {
                "metadata": merge_metadata({}, subscription_data.get("metadata")),
                "trial_period_days": as_int(trial, "subscription_data[trial_period_days]")
                if trial not in (None, "")
                else None,
            },
        }
    )
    return call.render(session)


def _line_item(store: Store, entry: dict[str, Any], trial: bool) -> dict[str, Any]:
    price = entry["price"]
    metered = billing.is_metered(price)
    amount = 0 if metered or trial else pricing.amount_for_quantity(price, entry["quantity"] or 0)
    product = store.get(price["product"]) or {}
    return {
        "id": new_id("li"),
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price["currency"],
        "description": product.get("name"),
        "price": price["id"],
        "quantity": entry["quantity"],
    }


def line_items_of(store: Store, session: dict[str, Any], version: str) -> list[dict[str, Any]]:
    result = []
    for item in session["_line_items"]:
        rendered = clone(item)
        price = store.get(item["price"], "price")
        if price is not None:
            rendered["price"] = render(store, price, version)
        result.append(rendered)
    return result


@expander("checkout.session", "line_items")
def expand_line_items(store: Store, session: dict[str, Any], version: str) -> Any:
    items = line_items_of(store, session, version)
    return list_object(items, f"/v1/checkout/sessions/{session['id']}/line_items")


def refresh(store: Store, session: dict[str, Any]) -> dict[str, Any]:
    """Expire an open session whose expires_at the virtual clock has passed."""
    if session["status"] == "open" and store.clock.now() >= session["expires_at"]:
        session["status"] = "expired"
        store.emit("checkout.session.expired", session)
    return session


def complete_session(
    store: Store, session: dict[str, Any], *, email: str | None = None, name: str | None = None
) -> dict[str, Any]:
    """What paying on the hosted page does: customer (if none) + subscription, complete, webhooks."""
    refresh(store, session)
    if session["status"] != "open":
        raise invalid(f"This Checkout Session is {session['status']} and can no longer be paid.")
    if session["customer"]:
        customer = store.get(session["customer"], "customer") or {}
    else:
        email = session["customer_email"] or email or None
        customer = create_customer(store, {"email": email, "name": name})
    items = []
    for line_item in session["_line_items"]:
        price = store.get(line_item["price"], "price")
        if price is None:
            raise not_found("price", line_item["price"], "line_items")
        items.append({"price": price, "quantity": line_item["quantity"], "metadata": {}})
    data = session["_subscription_data"]
    subscription = billing.create_subscription(
        store,
        customer["id"],
        items,
        metadata=data["metadata"],
        trial_period_days=data["trial_period_days"],
    )
    invoice = store.get(subscription["latest_invoice"] or "", "invoice") or {}
    session.update(
        status="complete",
        customer=customer["id"],
        subscription=subscription["id"],
        invoice=invoice.get("id"),
        payment_status="paid" if invoice.get("amount_due", 0) > 0 else "no_payment_required",
        customer_details={
            "address": None,
            "email": customer.get("email") or email,
            "name": customer.get("name") or name,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
    )
    store.emit("checkout.session.completed", session)
    return session


def _session(call: Call) -> dict[str, Any]:
    session = call.fetch("checkout.session", call.path["id"], "checkout.session")
    return refresh(call.store, session)


@route("GET", "/v1/checkout/sessions/{id}")
def retrieve(call: Call) -> dict[str, Any]:
    return call.render(_session(call))


@route("GET", "/v1/checkout/sessions/{id}/line_items")
def list_line_items(call: Call) -> dict[str, Any]:
    session = _session(call)
    items = line_items_of(call.store, session, call.version)
    by_id = {item["id"]: item for item in items}
    return call.page(items, f"/v1/checkout/sessions/{session['id']}/line_items", lambda d: by_id[d["id"]])


@route("POST", "/v1/checkout/sessions/{id}/expire")
def expire(call: Call) -> dict[str, Any]:
    session = _session(call)
    if session["status"] != "open":
        raise invalid(
            "Only Checkout Sessions with a status of `open` can be expired. "
            f"This session is {session['status']}."
        )
    session["status"] = "expired"
    call.store.emit("checkout.session.expired", session)
    return call.render(session)


@route("GET", "/v1/checkout/sessions")
def list_sessions(call: Call) -> dict[str, Any]:
    items = [refresh(call.store, s) for s in call.store.all("checkout.session")]
    for name in ("customer", "subscription", "status"):
        if call.params.get(name):
            items = [s for s in items if s[name] == call.params[name]]
    return call.page(items, "/v1/checkout/sessions")
