"""Prices: one-time and recurring, per-unit / package / tiered, legacy aggregate_usage or a meter."""

from decimal import Decimal
from typing import Any

from stripe_emulator.errors import invalid, missing, not_found, unknown_param
from stripe_emulator.forms import as_bool, as_decimal, as_dict, as_int, as_list, enum, merge_metadata
from stripe_emulator.ids import new_id
from stripe_emulator.render import expander, public, renderer
from stripe_emulator.resources.products import create_product
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store, clone
from stripe_emulator.versions import BASIL, is_basil_or_later

INTERVALS = ("day", "week", "month", "year")
AGGREGATE_USAGE = ("sum", "last_during_period", "last_ever", "max")
_TIER_AMOUNTS = ("unit_amount", "unit_amount_decimal", "flat_amount", "flat_amount_decimal")


def create_price(store: Store, params: dict[str, Any], version: str) -> dict[str, Any]:
    """Validate create params like Stripe and store the price."""
    currency = params.get("currency")
    if not currency:
        raise missing("currency")
    product_id = _product_for(store, params)
    scheme = enum(params.get("billing_scheme", "per_unit"), "billing_scheme", ("per_unit", "tiered"))
    price: dict[str, Any] = {
        "id": str(params.get("id") or new_id("price")),
        "object": "price",
        "active": as_bool(params.get("active", True), "active"),
        "billing_scheme": scheme,
        "created": store.clock.now(),
        "currency": str(currency).lower(),
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": params.get("lookup_key") or None,
        "metadata": merge_metadata({}, params.get("metadata")),
        "nickname": params.get("nickname") or None,
        "product": product_id,
        "recurring": _recurring(store, params, version),
        "tax_behavior": params.get("tax_behavior", "unspecified"),
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if params.get("recurring") else "one_time",
        "unit_amount": None,
        "unit_amount_decimal": None,
        "tiers": None,
    }
    if scheme == "per_unit":
        _set_unit_amount(price, params)
        price["transform_quantity"] = _transform(params.get("transform_quantity"))
    else:
        if params.get("transform_quantity"):
            raise invalid("transform_quantity cannot be used with tiered prices.", "transform_quantity")
        if params.get("unit_amount") not in (None, ""):
            raise invalid("unit_amount cannot be used with billing_scheme=tiered.", "unit_amount")
        price["tiers_mode"] = enum(params.get("tiers_mode"), "tiers_mode", ("graduated", "volume"))
        price["tiers"] = _tiers(params.get("tiers"))
    _claim_lookup_key(store, price, params)
    store.add(price)
    store.emit("price.created", price)
    return price


def _product_for(store: Store, params: dict[str, Any]) -> str:
    if params.get("product") and params.get("product_data"):
        raise invalid("You may only specify one of these parameters: product, product_data.", "product")
    if params.get("product_data"):
        return str(create_product(store, as_dict(params["product_data"], "product_data"))["id"])
    if not params.get("product"):
        raise missing("product")
    product_id = str(params["product"])
    if store.get(product_id, "product") is None:
        raise not_found("product", product_id, param="product")
    return product_id


def _set_unit_amount(price: dict[str, Any], params: dict[str, Any]) -> None:
    has_int = params.get("unit_amount") not in (None, "")
    has_decimal = params.get("unit_amount_decimal") not in (None, "")
    if has_int and has_decimal:
        raise invalid(
            "You may only specify one of these parameters: unit_amount, unit_amount_decimal.", "unit_amount"
        )
    if not has_int and not has_decimal:
        raise missing("unit_amount")
    if has_int:
        amount = as_int(params["unit_amount"], "unit_amount")
        if amount < 0:
            raise invalid("Invalid non-negative integer", "unit_amount")
        price["unit_amount"], price["unit_amount_decimal"] = amount, str(amount)
    else:
        decimal = as_decimal(params["unit_amount_decimal"], "unit_amount_decimal")
        if decimal < 0:
            raise invalid("Invalid non-negative decimal", "unit_amount_decimal")
        price["unit_amount"] = int(decimal) if decimal == decimal.to_integral_value() else None
        price["unit_amount_decimal"] = _decimal_text(decimal)


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _transform(raw: Any) -> dict[str, Any] | None:
    if not raw:
        return None
    transform = as_dict(raw, "transform_quantity")
    if transform.get("divide_by") in (None, ""):
        raise missing("transform_quantity[divide_by]")
    divide_by = as_int(transform["divide_by"], "transform_quantity[divide_by]")
    if divide_by < 1:
        raise invalid("divide_by must be a positive integer", "transform_quantity[divide_by]")
    rounding = enum(transform.get("round"), "transform_quantity[round]", ("up", "down"))
    return {"divide_by": divide_by, "round": rounding}


def _tiers(raw: Any) -> list[dict[str, Any]]:
    tiers_in = as_list(raw, "tiers")
    if not tiers_in:
        raise missing("tiers")
    tiers: list[dict[str, Any]] = []
    previous = 0
    for i, raw_tier in enumerate(tiers_in):
        tier = as_dict(raw_tier, f"tiers[{i}]")
        param = f"tiers[{i}]"
        up_to = tier.get("up_to")
        if up_to in (None, ""):
            raise missing(f"{param}[up_to]")
        if up_to == "inf":
            bound = None
            if i != len(tiers_in) - 1:
                raise invalid("Only the last tier may have up_to=inf.", f"{param}[up_to]")
        else:
            bound = as_int(up_to, f"{param}[up_to]")
            if bound <= previous:
                raise invalid("Tiers must be sorted by ascending up_to.", f"{param}[up_to]")
            previous = bound
        entry: dict[str, Any] = {"up_to": bound}
        for name in ("unit_amount", "flat_amount"):
            entry.update(_tier_amount(tier, name, f"{param}[{name}]"))
        if all(tier.get(k) in (None, "") for k in _TIER_AMOUNTS):
            raise missing(f"{param}[unit_amount]")
        tiers.append(entry)
    if tiers[-1]["up_to"] is not None:
        raise invalid("The last tier must have up_to=inf.", f"tiers[{len(tiers) - 1}][up_to]")
    return tiers


def _tier_amount(tier: dict[str, Any], name: str, param: str) -> dict[str, Any]:
    if tier.get(name) not in (None, ""):
        amount = as_int(tier[name], param)
        return {name: amount, f"{name}_decimal": str(amount)}
    if tier.get(f"{name}_decimal") not in (None, ""):
        decimal = as_decimal(tier[f"{name}_decimal"], f"{param[: -len(name) - 1]}{name}_decimal]")
        integral = decimal == decimal.to_integral_value()
        return {name: int(decimal) if integral else None, f"{name}_decimal": _decimal_text(decimal)}
    return {name: None, f"{name}_decimal": None}


def _recurring(store: Store, params: dict[str, Any], version: str) -> dict[str, Any] | None:
    if not params.get("recurring"):
        return None
    raw = as_dict(params["recurring"], "recurring")
    if not raw.get("interval"):
        raise missing("recurring[interval]")
    interval = enum(raw["interval"], "recurring[interval]", INTERVALS)
    count = as_int(raw.get("interval_count", 1), "recurring[interval_count]")
    if count < 1:
        raise invalid("interval_count must be at least 1", "recurring[interval_count]")
    usage_type = enum(raw.get("usage_type", "licensed"), "recurring[usage_type]", ("licensed", "metered"))
    basil = is_basil_or_later(version)
    if basil and raw.get("aggregate_usage") not in (None, ""):
        raise unknown_param("recurring[aggregate_usage]")
    aggregate = None
    if raw.get("aggregate_usage") not in (None, ""):
        aggregate = enum(raw["aggregate_usage"], "recurring[aggregate_usage]", AGGREGATE_USAGE)
        if usage_type != "metered":
            raise invalid(
                "aggregate_usage can only be set when usage_type is `metered`.", "recurring[aggregate_usage]"
            )
    meter = raw.get("meter") or None
    if meter is not None:
        if usage_type != "metered":
            raise invalid("A meter can only be set when usage_type is `metered`.", "recurring[meter]")
        if store.get(str(meter), "billing.meter") is None:
            raise not_found("billing.meter", str(meter), param="recurring[meter]")
        if aggregate is not None:
            raise invalid("aggregate_usage cannot be combined with a meter.", "recurring[aggregate_usage]")
    elif usage_type == "metered":
        if basil:
            raise invalid(
                f"Starting with Stripe version `{BASIL}`, metered prices must be backed by a meter. "
                "Pass `recurring[meter]`.",
                "recurring[meter]",
            )
        aggregate = aggregate or "sum"
    return {
        "aggregate_usage": aggregate,
        "interval": interval,
        "interval_count": count,
        "meter": meter,
        "trial_period_days": None,
        "usage_type": usage_type,
    }


def _claim_lookup_key(store: Store, price: dict[str, Any], params: dict[str, Any]) -> None:
    key = price["lookup_key"]
    if not key:
        return
    holder = next((p for p in store.all("price") if p["lookup_key"] == key and p["id"] != price["id"]), None)
    if holder is None:
        return
    if not as_bool(params.get("transfer_lookup_key", False), "transfer_lookup_key"):
        raise invalid(
            f"A price (`{holder['id']}`) already uses that lookup key.",
            "lookup_key",
            code="lookup_key_in_use",
        )
    holder["lookup_key"] = None


@renderer("price")
def render_price(store: Store, price: dict[str, Any], version: str) -> dict[str, Any]:
    out = public(price)
    out.pop("tiers", None)  # `tiers` is includable: only present with expand[]=tiers, like Stripe
    if out["recurring"] is not None and is_basil_or_later(version):
        out["recurring"].pop("aggregate_usage", None)
    return out


@expander("price", "tiers")
def expand_tiers(store: Store, price: dict[str, Any], version: str) -> Any:
    return clone(price.get("tiers"))


def plan_from_price(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy ``plan`` view of a recurring price, shown on pre-basil subscription items."""
    recurring = price["recurring"] or {}
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "aggregate_usage": recurring.get("aggregate_usage"),
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count"),
        "livemode": False,
        "metadata": clone(price["metadata"]),
        "meter": recurring.get("meter"),
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": price["tiers_mode"],
        "transform_usage": clone(price["transform_quantity"]),
        "trial_period_days": None,
        "usage_type": recurring.get("usage_type"),
    }


@route("POST", "/v1/prices")
def create(call: Call) -> dict[str, Any]:
    return call.render(create_price(call.store, call.params, call.version))


@route("GET", "/v1/prices/{id}")
def retrieve(call: Call) -> dict[str, Any]:
    return call.render(call.fetch("price", call.path["id"], "price"))


@route("POST", "/v1/prices/{id}")
def update(call: Call) -> dict[str, Any]:
    price = call.fetch("price", call.path["id"], "price")
    before = clone(price)
    params = call.params
    if "active" in params:
        price["active"] = as_bool(params["active"], "active")
    if "nickname" in params:
        price["nickname"] = params["nickname"] or None
    if "metadata" in params:
        price["metadata"] = merge_metadata(price["metadata"], params["metadata"])
    if "lookup_key" in params:
        price["lookup_key"] = params["lookup_key"] or None
        _claim_lookup_key(call.store, price, params)
    call.store.emit_update("price.updated", price, before)
    return call.render(price)


@route("GET", "/v1/prices")
def list_prices(call: Call) -> dict[str, Any]:
    params = call.params
    items = call.store.all("price")
    if "active" in params:
        active = as_bool(params["active"], "active")
        items = [p for p in items if p["active"] == active]
    for name in ("product", "type", "currency"):
        if params.get(name):
            wanted = str(params[name]).lower() if name == "currency" else params[name]
            items = [p for p in items if p[name] == wanted]
    recurring = as_dict(params.get("recurring"), "recurring")
    for name in ("usage_type", "interval", "meter"):
        if recurring.get(name):
            items = [p for p in items if p["recurring"] and p["recurring"].get(name) == recurring[name]]
    lookup_keys = as_list(params.get("lookup_keys"), "lookup_keys")
    if lookup_keys:
        items = [p for p in items if p["lookup_key"] in lookup_keys]
    return call.page(items, "/v1/prices")
