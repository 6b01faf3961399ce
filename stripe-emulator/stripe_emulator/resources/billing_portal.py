"""The customer portal: configurations, and sessions (with `flow_data` deep links) for the hosted portal page.

A configuration says what a customer may do there (Stripe's `features`): `subscription_update` (switch the
price of a single-item subscription: `enabled`, `default_allowed_updates` (`price`), `proration_behavior`,
`products[]` with their `prices[]`) and `subscription_cancel` (`enabled`, `mode` `at_period_end` or
`immediately`). The account has a default configuration, `bpc_emulator`, made on first use: updates
enabled with `create_prorations`, cancellation at the period end. Its `products` is null, which in the
emulator (not in Stripe, where updates need the list) means "every active recurring price of the product
the subscription is on, in its currency and interval". The hosted pages are in hosted.py.
"""

from typing import Any

from stripe_emulator import billing
from stripe_emulator.errors import invalid, missing, not_found
from stripe_emulator.forms import as_bool, as_dict, as_list, enum, merge_metadata
from stripe_emulator.ids import new_id
from stripe_emulator.resources.customers import live_customer
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store, clone

DEFAULT_CONFIGURATION = "bpc_emulator"
FLOW_TYPES = (
    "payment_method_update",
    "subscription_cancel",
    "subscription_update",
    "subscription_update_confirm",
)
AFTER_COMPLETION = ("hosted_confirmation", "portal_homepage", "redirect")
PRORATION_BEHAVIORS = ("always_invoice", "create_prorations", "none")
CANCEL_MODES = ("at_period_end", "immediately")


def portal_url(base_url: str, session_id: str) -> str:
    return f"{base_url.rstrip('/')}/p/session/{session_id}"


# configurations


def default_configuration(store: Store) -> dict[str, Any]:
    existing = store.get(DEFAULT_CONFIGURATION, "billing_portal.configuration")
    if existing is not None:
        return existing
    configuration = _new_configuration(store, DEFAULT_CONFIGURATION, is_default=True)
    configuration["features"]["subscription_update"].update(
        enabled=True, default_allowed_updates=["price"], proration_behavior="create_prorations"
    )
    return store.add(configuration)


def _new_configuration(store: Store, configuration_id: str, *, is_default: bool) -> dict[str, Any]:
    now = store.clock.now()
    return {
        "id": configuration_id,
        "object": "billing_portal.configuration",
        "active": True,
        "application": None,
        "business_profile": {"headline": None, "privacy_policy_url": None, "terms_of_service_url": None},
        "created": now,
        "default_return_url": None,
        "features": {
            "customer_update": {"allowed_updates": [], "enabled": False},
            "invoice_history": {"enabled": True},
            "payment_method_update": {"enabled": False},
            "subscription_cancel": {
                "cancellation_reason": {"enabled": False, "options": []},
                "enabled": True,
                "mode": "at_period_end",
                "proration_behavior": "none",
            },
            "subscription_update": {
                "default_allowed_updates": [],
                "enabled": False,
                "products": None,
                # Stripe's default for a configuration made through the API.
                "proration_behavior": "none",
            },
        },
        "is_default": is_default,
        "livemode": False,
        "login_page": {"enabled": False, "url": None},
        "metadata": {},
        "updated": now,
    }


def _apply_features(store: Store, configuration: dict[str, Any], params: dict[str, Any]) -> None:
    features = as_dict(params.get("features"), "features")
    update = as_dict(features.get("subscription_update"), "features[subscription_update]")
    target = configuration["features"]["subscription_update"]
    prefix = "features[subscription_update]"
    if "enabled" in update:
        target["enabled"] = as_bool(update["enabled"], f"{prefix}[enabled]")
    if "default_allowed_updates" in update:
        allowed = [
            str(v) for v in as_list(update["default_allowed_updates"], f"{prefix}[default_allowed_updates]")
        ]
        for value in allowed:
            enum(value, f"{prefix}[default_allowed_updates]", ("price", "quantity", "promotion_code"))
        target["default_allowed_updates"] = allowed
    if "proration_behavior" in update:
        target["proration_behavior"] = enum(
            update["proration_behavior"], f"{prefix}[proration_behavior]", PRORATION_BEHAVIORS
        )
    if "products" in update:
        target["products"] = _products(store, update["products"], f"{prefix}[products]")
    cancel = as_dict(features.get("subscription_cancel"), "features[subscription_cancel]")
    target = configuration["features"]["subscription_cancel"]
    prefix = "features[subscription_cancel]"
    if "enabled" in cancel:
        target["enabled"] = as_bool(cancel["enabled"], f"{prefix}[enabled]")
    if "mode" in cancel:
        target["mode"] = enum(cancel["mode"], f"{prefix}[mode]", CANCEL_MODES)
    if "proration_behavior" in cancel:
        target["proration_behavior"] = enum(
            cancel["proration_behavior"], f"{prefix}[proration_behavior]", PRORATION_BEHAVIORS
        )
    for name in ("invoice_history", "payment_method_update"):
        section = as_dict(features.get(name), f"features[{name}]")
        if "enabled" in section:
            configuration["features"][name]["enabled"] = as_bool(
                section["enabled"], f"features[{name}][enabled]"
            )
    profile = as_dict(params.get("business_profile"), "business_profile")
    for name in ("headline", "privacy_policy_url", "terms_of_service_url"):
        if name in profile:
            configuration["business_profile"][name] = profile[name] or None
    if "default_return_url" in params:
        configuration["default_return_url"] = params["default_return_url"] or None
    if "metadata" in params:
        configuration["metadata"] = merge_metadata(configuration["metadata"], params["metadata"])


def _products(store: Store, raw: Any, param: str) -> list[dict[str, Any]] | None:
    if raw == "":
        return None
    products = []
    for index, entry in enumerate(as_list(raw, param)):
        product = as_dict(entry, f"{param}[{index}]")
        product_id = product.get("product")
        if not product_id:
            raise missing(f"{param}[{index}][product]")
        if store.get(str(product_id), "product") is None:
            raise not_found("product", str(product_id), param=f"{param}[{index}][product]")
        prices = [str(p) for p in as_list(product.get("prices"), f"{param}[{index}][prices]")]
        if not prices:
            raise missing(f"{param}[{index}][prices]")
        for price_id in prices:
            price = store.get(price_id, "price")
            if price is None:
                raise not_found("price", price_id, param=f"{param}[{index}][prices]")
            if price["product"] != product_id or not price["recurring"]:
                raise invalid(
                    f"The price {price_id} is not a recurring price of product {product_id}.",
                    f"{param}[{index}][prices]",
                )
        products.append({"prices": prices, "product": str(product_id)})
    return products


@route("POST", "/v1/billing_portal/configurations")
def create_configuration(call: Call) -> dict[str, Any]:
    configuration = _new_configuration(call.store, new_id("bpc"), is_default=False)
    _apply_features(call.store, configuration, call.params)
    return call.render(call.store.add(configuration))


@route("GET", "/v1/billing_portal/configurations")
def list_configurations(call: Call) -> dict[str, Any]:
    default_configuration(call.store)
    items = call.store.all("billing_portal.configuration")
    for name in ("active", "is_default"):
        if name in call.params:
            wanted = as_bool(call.params[name], name)
            items = [c for c in items if c[name] == wanted]
    return call.page(items, "/v1/billing_portal/configurations")


@route("GET", "/v1/billing_portal/configurations/{id}")
def retrieve_configuration(call: Call) -> dict[str, Any]:
    if call.path["id"] == DEFAULT_CONFIGURATION:
        default_configuration(call.store)
    return call.render(call.fetch("billing_portal.configuration", call.path["id"], "configuration"))


@route("POST", "/v1/billing_portal/configurations/{id}")
def update_configuration(call: Call) -> dict[str, Any]:
    if call.path["id"] == DEFAULT_CONFIGURATION:
        default_configuration(call.store)
    configuration = call.fetch("billing_portal.configuration", call.path["id"], "configuration")
    _apply_features(call.store, configuration, call.params)
    if "active" in call.params:
        if configuration["is_default"] and not as_bool(call.params["active"], "active"):
            raise invalid("The default configuration cannot be deactivated.", "active")
        configuration["active"] = as_bool(call.params["active"], "active")
    configuration["updated"] = call.now()
    return call.render(configuration)


# what a configuration allows


def offered_prices(
    store: Store, configuration: dict[str, Any], subscription: dict[str, Any]
) -> list[dict[str, Any]]:
    """The prices the customer may switch the subscription to in the portal (its current one included)."""
    feature = configuration["features"]["subscription_update"]
    items = billing.items_of(store, subscription)
    if not feature["enabled"] or "price" not in feature["default_allowed_updates"] or len(items) != 1:
        return []
    current = store.get(items[0]["price"], "price")
    if current is None:
        return []
    if feature["products"] is None:
        candidates = [
            p
            for p in reversed(store.all("price"))
            if p["product"] == current["product"]
            and p["recurring"]
            and billing.interval_of(p) == billing.interval_of(current)
        ]
    else:
        listed = [pid for product in feature["products"] for pid in product["prices"]]
        candidates = [p for pid in listed if (p := store.get(pid, "price")) is not None]
    product_active = {
        p["product"]: bool((store.get(p["product"], "product") or {}).get("active")) for p in candidates
    }
    return [
        p
        for p in candidates
        if p["active"]
        and p["recurring"]
        and p["currency"] == subscription["currency"]
        and product_active.get(p["product"])
    ]


def may_switch_to(
    store: Store, configuration: dict[str, Any], subscription: dict[str, Any], price_id: str
) -> bool:
    return any(p["id"] == price_id for p in offered_prices(store, configuration, subscription))


# sessions


def _flow(call: Call, customer: dict[str, Any], configuration: dict[str, Any]) -> dict[str, Any] | None:
    raw = call.params.get("flow_data")
    if raw in (None, ""):
        return None
    data = as_dict(raw, "flow_data")
    if not data.get("type"):
        raise missing("flow_data[type]")
    flow_type = enum(data["type"], "flow_data[type]", FLOW_TYPES)
    after = as_dict(data.get("after_completion"), "flow_data[after_completion]")
    after_type = enum(
        after.get("type", "portal_homepage"), "flow_data[after_completion][type]", AFTER_COMPLETION
    )
    redirect = None
    if after_type == "redirect":
        target = as_dict(after.get("redirect"), "flow_data[after_completion][redirect]").get("return_url")
        if not target:
            raise missing("flow_data[after_completion][redirect][return_url]")
        redirect = {"return_url": str(target)}
    confirmation = None
    if after_type == "hosted_confirmation":
        hosted = as_dict(after.get("hosted_confirmation"), "flow_data[after_completion][hosted_confirmation]")
        confirmation = {"custom_message": hosted.get("custom_message") or None}
    flow: dict[str, Any] = {
        "type": flow_type,
        "after_completion": {"type": after_type, "hosted_confirmation": confirmation, "redirect": redirect},
        "subscription_cancel": None,
        "subscription_update": None,
        "subscription_update_confirm": None,
    }
    if flow_type == "payment_method_update":
        return flow
    prefix = f"flow_data[{flow_type}]"
    section = as_dict(data.get(flow_type), prefix)
    subscription_id = section.get("subscription")
    if not subscription_id:
        raise missing(f"{prefix}[subscription]")
    subscription = call.store.get(str(subscription_id), "subscription")
    if subscription is None or subscription["customer"] != customer["id"]:
        raise not_found("subscription", str(subscription_id), param=f"{prefix}[subscription]")
    billing.advance(call.store, subscription)
    if subscription["status"] in ("canceled", "incomplete_expired"):
        raise invalid(f"The subscription {subscription['id']} is canceled.", f"{prefix}[subscription]")
    features = configuration["features"]
    if flow_type == "subscription_cancel":
        if not features["subscription_cancel"]["enabled"]:
            raise invalid(
                "The `subscription_cancel` flow needs the portal configuration's subscription_cancel "
                "feature; it is disabled.",
                "flow_data[type]",
            )
        flow["subscription_cancel"] = {"retention": None, "subscription": subscription["id"]}
        return flow
    if not features["subscription_update"]["enabled"]:
        raise invalid(
            f"The `{flow_type}` flow needs the portal configuration's subscription_update feature; it is "
            "disabled.",
            "flow_data[type]",
        )
    if flow_type == "subscription_update":
        flow["subscription_update"] = {"subscription": subscription["id"]}
        return flow
    items = as_list(section.get("items"), f"{prefix}[items]")
    if len(items) != 1:
        raise invalid("The `subscription_update_confirm` flow takes exactly one item.", f"{prefix}[items]")
    item = as_dict(items[0], f"{prefix}[items][0]")
    owned = {i["id"] for i in billing.items_of(call.store, subscription)}
    if not item.get("id"):
        raise missing(f"{prefix}[items][0][id]")
    if item["id"] not in owned:
        raise invalid("That item does not belong to this subscription.", f"{prefix}[items][0][id]")
    price_id = str(item.get("price") or "")
    if not price_id:
        raise missing(f"{prefix}[items][0][price]")
    if call.store.get(price_id, "price") is None:
        raise not_found("price", price_id, param=f"{prefix}[items][0][price]")
    if not may_switch_to(call.store, configuration, subscription, price_id):
        raise invalid(
            f"The price {price_id} is not one the portal configuration lets this subscription switch to.",
            f"{prefix}[items][0][price]",
        )
    flow["subscription_update_confirm"] = {
        "discounts": [],
        "items": [{"id": str(item["id"]), "price": price_id, "quantity": item.get("quantity")}],
        "subscription": subscription["id"],
    }
    return flow


@route("POST", "/v1/billing_portal/sessions")
def create(call: Call) -> dict[str, Any]:
    customer = live_customer(call, str(call.require("customer")))
    if call.params.get("configuration"):
        configuration = call.fetch(
            "billing_portal.configuration",
            str(call.params["configuration"]),
            "configuration",
            "configuration",
        )
        if not configuration["active"]:
            raise invalid("The configuration is inactive.", "configuration")
    else:
        configuration = default_configuration(call.store)
    flow = _flow(call, customer, configuration)
    session_id = new_id("bps")
    session = call.store.add(
        {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": configuration["id"],
            "created": call.now(),
            "customer": customer["id"],
            "flow": clone(flow),
            "livemode": False,
            "locale": call.params.get("locale") or None,
            "on_behalf_of": None,
            "return_url": call.params.get("return_url") or configuration["default_return_url"],
            "url": portal_url(call.base_url, session_id),
            "_flow_done": False,
        }
    )
    return call.render(session)
