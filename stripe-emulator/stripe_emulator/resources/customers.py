"""Customers: create, retrieve, update, delete, list (email filter) and search."""

import re
from typing import Any

from stripe_emulator.errors import invalid
from stripe_emulator.forms import merge_metadata
from stripe_emulator.ids import new_id
from stripe_emulator.render import public, renderer
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store, clone

_EDITABLE = ("email", "name", "description", "phone")
_CLAUSE = re.compile(
    r"""^\s*(?P<field>[a-z_]+(?:\[['"][^'"]+['"]\])?)\s*(?P<op>:|~)\s*['"](?P<value>.*)['"]\s*$"""
)


def create_customer(store: Store, params: dict[str, Any]) -> dict[str, Any]:
    customer_id = str(params.get("id") or new_id("cus"))
    customer = store.add(
        {
            "id": customer_id,
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": store.clock.now(),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": params.get("description") or None,
            "discount": None,
            "email": params.get("email") or None,
            "invoice_prefix": customer_id[-8:].upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": merge_metadata({}, params.get("metadata")),
            "name": params.get("name") or None,
            "phone": params.get("phone") or None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
    )
    store.emit("customer.created", customer)
    return customer


def live_customer(call: Call, customer_id: str, param: str = "customer") -> dict[str, Any]:
    """A customer that exists and is not deleted (404 otherwise, like Stripe)."""
    customer = call.fetch("customer", customer_id, "customer", param=param)
    if customer.get("_deleted"):
        from stripe_emulator.errors import not_found

        raise not_found("customer", customer_id, param=param)
    return customer


@renderer("customer")
def render_customer(store: Store, customer: dict[str, Any], version: str) -> dict[str, Any]:
    if customer.get("_deleted"):
        return {"id": customer["id"], "object": "customer", "deleted": True}
    return public(customer)


@route("POST", "/v1/customers")
def create(call: Call) -> dict[str, Any]:
    return call.render(create_customer(call.store, call.params))


@route("GET", "/v1/customers/search")
def search(call: Call) -> dict[str, Any]:
    query = str(call.require("query"))
    matcher = _compile_query(query)
    items = [c for c in call.store.all("customer") if not c.get("_deleted") and matcher(c)]
    page = call.page(items, "/v1/customers/search")
    page["object"] = "search_result"
    page["next_page"] = None
    if page["has_more"] and page["data"]:
        page["next_page"] = page["data"][-1]["id"]
    return page


@route("GET", "/v1/customers/{id}")
def retrieve(call: Call) -> dict[str, Any]:
    return call.render(call.fetch("customer", call.path["id"], "customer"))


@route("POST", "/v1/customers/{id}")
def update(call: Call) -> dict[str, Any]:
    customer = live_customer(call, call.path["id"], param="id")
    before = clone(customer)
    for key in _EDITABLE:
        if key in call.params:
            customer[key] = call.params[key] or None
    if "metadata" in call.params:
        customer["metadata"] = merge_metadata(customer["metadata"], call.params["metadata"])
    call.store.emit_update("customer.updated", customer, before)
    return call.render(customer)


@route("DELETE", "/v1/customers/{id}")
def delete(call: Call) -> dict[str, Any]:
    from stripe_emulator.billing import cancel_subscription

    customer = live_customer(call, call.path["id"], param="id")
    for subscription in call.store.all("subscription"):
        if subscription["customer"] == customer["id"] and subscription["status"] != "canceled":
            cancel_subscription(call.store, subscription)
    customer["_deleted"] = True
    call.store.emit("customer.deleted", {k: v for k, v in customer.items() if k != "_deleted"})
    return {"id": customer["id"], "object": "customer", "deleted": True}


@route("GET", "/v1/customers")
def list_customers(call: Call) -> dict[str, Any]:
    items = [c for c in call.store.all("customer") if not c.get("_deleted")]
    if call.params.get("email"):
        items = [c for c in items if c["email"] == call.params["email"]]
    return call.page(items, "/v1/customers")


def _compile_query(query: str) -> Any:
    """Stripe search: ``field:'v'`` (exact), ``field~'v'`` (substring), joined by AND or OR."""
    joiner = " OR " if " OR " in query else " AND "
    if " OR " in query and " AND " in query:
        raise invalid("Search queries cannot mix AND and OR.", "query")
    clauses = []
    for part in query.split(joiner):
        match = _CLAUSE.match(part)
        if not match:
            raise invalid(f"Invalid search query: {query}", "query")
        clauses.append((match["field"], match["op"], match["value"]))

    def value_of(customer: dict[str, Any], field: str) -> str | None:
        if field.startswith("metadata["):
            key = field[len("metadata[") + 1 : -2]
            return customer["metadata"].get(key)
        if field not in ("email", "name", "phone", "description"):
            raise invalid(f"Field `{field}` is not supported in customer search.", "query")
        value = customer.get(field)
        return None if value is None else str(value)

    def matches(customer: dict[str, Any]) -> bool:
        results = []
        for field, op, wanted in clauses:
            value = value_of(customer, field)
            if op == ":":
                results.append(value is not None and value.lower() == wanted.lower())
            else:
                results.append(value is not None and wanted.lower() in value.lower())
        return any(results) if joiner == " OR " else all(results)

    return matches
