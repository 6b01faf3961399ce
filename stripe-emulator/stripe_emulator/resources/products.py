"""Products: create, retrieve, update, list (active filter), delete."""

from typing import Any

from stripe_emulator.errors import invalid, missing
from stripe_emulator.forms import as_bool, as_list, merge_metadata
from stripe_emulator.ids import new_id
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store, clone

_EDITABLE = ("name", "description", "url", "statement_descriptor", "unit_label", "default_price")


def create_product(store: Store, params: dict[str, Any]) -> dict[str, Any]:
    """Create and store a product from create params (also used by ``product_data`` and the seed)."""
    if not params.get("name"):
        raise missing("name")
    product_id = str(params.get("id") or new_id("prod"))
    if store.get(product_id) is not None:
        raise invalid(
            f"Product already exists with ID '{product_id}'", param="id", code="resource_already_exists"
        )
    now = store.clock.now()
    product = store.add(
        {
            "id": product_id,
            "object": "product",
            "active": as_bool(params.get("active", True), "active"),
            "created": now,
            "updated": now,
            "default_price": None,
            "description": params.get("description") or None,
            "images": as_list(params.get("images"), "images"),
            "livemode": False,
            "marketing_features": [],
            "metadata": merge_metadata({}, params.get("metadata")),
            "name": str(params["name"]),
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": params.get("statement_descriptor") or None,
            "tax_code": None,
            "type": "service",
            "unit_label": params.get("unit_label") or None,
            "url": params.get("url") or None,
        }
    )
    store.emit("product.created", product)
    return product


@route("POST", "/v1/products")
def create(call: Call) -> dict[str, Any]:
    return call.render(create_product(call.store, call.params))


@route("GET", "/v1/products/{id}")
def retrieve(call: Call) -> dict[str, Any]:
    return call.render(call.fetch("product", call.path["id"], "product"))


@route("POST", "/v1/products/{id}")
def update(call: Call) -> dict[str, Any]:
    product = call.fetch("product", call.path["id"], "product")
    before = clone(product)
    for key in _EDITABLE:
        if key in call.params:
            product[key] = call.params[key] or None
    if "active" in call.params:
        product["active"] = as_bool(call.params["active"], "active")
    if "metadata" in call.params:
        product["metadata"] = merge_metadata(product["metadata"], call.params["metadata"])
    product["updated"] = call.now()
    call.store.emit_update("product.updated", product, before)
    return call.render(product)


@route("GET", "/v1/products")
def list_products(call: Call) -> dict[str, Any]:
    items = call.store.all("product")
    if "active" in call.params:
        active = as_bool(call.params["active"], "active")
        items = [p for p in items if p["active"] == active]
    ids = as_list(call.params.get("ids"), "ids")
    if ids:
        items = [p for p in items if p["id"] in ids]
    return call.page(items, "/v1/products")


@route("DELETE", "/v1/products/{id}")
def delete(call: Call) -> dict[str, Any]:
    product = call.fetch("product", call.path["id"], "product")
    if any(price["product"] == product["id"] for price in call.store.all("price")):
        raise invalid("This product cannot be deleted because it has one or more user-created prices.")
    call.store.remove(product["id"])
    call.store.emit("product.deleted", product)
    return {"id": product["id"], "object": "product", "deleted": True}
