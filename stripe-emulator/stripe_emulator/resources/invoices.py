"""Invoices: roll-over invoices (list, retrieve, lines), previews (upcoming, create_preview) of the next
invoice or of a proposed subscription update (its prorations), and invoice items (prorations pending)."""

from typing import Any

from stripe_emulator import billing, changes
from stripe_emulator.errors import invalid, missing
from stripe_emulator.forms import as_bool, as_dict
from stripe_emulator.render import public, render, renderer
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store
from stripe_emulator.versions import BASIL, is_basil_or_later

# Basil moved these into `parent` / `pricing` on invoice items.
_LEGACY_ITEM_FIELDS = ("price", "plan", "subscription", "subscription_item", "proration_details")


def render_line(store: Store, line: dict[str, Any], version: str) -> dict[str, Any]:
    """A line; from basil also `parent` and `pricing` (the emulator keeps the older fields beside them)."""
    out = public(line)
    price = store.get(line["price"], "price")
    if price is not None:
        out["price"] = render(store, price, version)
    if not is_basil_or_later(version):
        if price is not None:
            out["plan"] = _plan(price)
        return out
    out["parent"] = {
        "type": "subscription_item_details",
        "invoice_item_details": None,
        "subscription_item_details": {
            "invoice_item": line.get("invoice_item"),
            "proration": bool(line.get("proration")),
            "proration_details": {"credited_items": None} if line.get("proration") else None,
            "subscription": line["subscription"],
            "subscription_item": line["subscription_item"],
        },
    }
    out["pricing"] = _pricing(line, price)
    return out


def _plan(price: dict[str, Any]) -> dict[str, Any]:
    from stripe_emulator.resources.prices import plan_from_price

    return plan_from_price(price)


def _pricing(line: dict[str, Any], price: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "type": "price_details",
        "price_details": {"price": line["price"], "product": price["product"] if price else None},
        "unit_amount_decimal": price["unit_amount_decimal"] if price else None,
    }


@renderer("invoiceitem")
def render_invoice_item(store: Store, invoice_item: dict[str, Any], version: str) -> dict[str, Any]:
    out = public(invoice_item)
    price = store.get(invoice_item["price"], "price")
    if not is_basil_or_later(version):
        if price is not None:
            out["price"] = render(store, price, version)
            out["plan"] = _plan(price)
        return out
    out["parent"] = {
        "type": "subscription_details",
        "subscription_details": {
            "subscription": invoice_item["subscription"],
            "subscription_item": invoice_item["subscription_item"],
        },
    }
    out["pricing"] = _pricing(invoice_item, price)
    for key in (*_LEGACY_ITEM_FIELDS, "unit_amount", "unit_amount_decimal"):
        out.pop(key, None)
    return out


@renderer("invoice")
def render_invoice(store: Store, invoice: dict[str, Any], version: str) -> dict[str, Any]:
    out = public(invoice)
    out["lines"]["data"] = [render_line(store, line, version) for line in invoice["lines"]["data"]]
    proration_date = out.pop("subscription_proration_date", None)
    if is_basil_or_later(version):
        out["parent"] = {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": invoice["subscription"],
                "metadata": {},
                "subscription_proration_date": proration_date,
            },
        }
    elif proration_date is not None:
        out["subscription_proration_date"] = proration_date
    return out


def _subscription_for_preview(call: Call) -> dict[str, Any]:
    params = call.params
    subscription: dict[str, Any] | None
    if params.get("subscription"):
        subscription = call.fetch("subscription", str(params["subscription"]), "subscription", "subscription")
        if params.get("customer") and params["customer"] != subscription["customer"]:
            raise invalid("The subscription does not belong to that customer.", "subscription")
    elif params.get("customer"):
        customer_id = str(params["customer"])
        call.fetch("customer", customer_id, "customer", "customer")
        subscription = next(
            (
                s
                for s in reversed(call.store.all("subscription"))
                if s["customer"] == customer_id and s["status"] in billing.ROLLING
            ),
            None,
        )
        if subscription is None:
            raise invalid(f"No upcoming invoices for customer: {customer_id}", code="invoice_upcoming_none")
    else:
        raise missing("customer")
    billing.advance(call.store, subscription)
    if subscription["status"] not in billing.ROLLING:
        raise invalid(
            f"No upcoming invoices for customer: {subscription['customer']}", code="invoice_upcoming_none"
        )
    return subscription


def _proposed_update(call: Call, subscription: dict[str, Any]) -> changes.Update | None:
    """The subscription update a preview asks about, if any: `subscription_details[...]` (create_preview,
    and the upcoming endpoint of later versions) or the upcoming endpoint's `subscription_items`,
    `subscription_proration_behavior`, `subscription_proration_date`, `subscription_cancel_at_period_end`."""
    params = call.params
    if "subscription_details" in params:
        details = as_dict(params["subscription_details"], "subscription_details")
        prefix = "subscription_details"
        items, behavior, moment, cancel = (
            details.get("items"),
            details.get("proration_behavior"),
            details.get("proration_date"),
            details.get("cancel_at_period_end"),
        )
        names = {
            "items": f"{prefix}[items]",
            "behavior": f"{prefix}[proration_behavior]",
            "date": f"{prefix}[proration_date]",
            "cancel": f"{prefix}[cancel_at_period_end]",
        }
    else:
        items = params.get("subscription_items")
        behavior = params.get("subscription_proration_behavior")
        moment = params.get("subscription_proration_date")
        cancel = params.get("subscription_cancel_at_period_end")
        names = {
            "items": "subscription_items",
            "behavior": "subscription_proration_behavior",
            "date": "subscription_proration_date",
            "cancel": "subscription_cancel_at_period_end",
        }
    if all(v in (None, "") for v in (items, behavior, moment, cancel)):
        return None
    return changes.plan_update(
        call.store,
        subscription,
        items=items,
        items_param=names["items"],
        behavior=behavior,
        behavior_param=names["behavior"],
        proration_date=moment,
        proration_date_param=names["date"],
        cancel_at_period_end=cancel,
        cancel_param=names["cancel"],
    )


def preview(call: Call) -> dict[str, Any]:
    store = call.store
    subscription = _subscription_for_preview(call)
    update = _proposed_update(call, subscription)
    if update is None:
        lines = billing.next_invoice_lines(store, subscription)
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        reason = "upcoming"
    else:
        lines, start, end, reason = changes.preview(store, update)
    for index, line in enumerate(lines):
        line["id"] = f"il_tmp_{subscription['id'][4:]}_{index}"
    invoice = billing.invoice_shape(
        store,
        subscription,
        lines,
        start,
        end,
        reason,
        f"upcoming_in_{subscription['id'][4:]}",
        created=call.now(),
    )
    invoice["next_payment_attempt"] = end if reason == "upcoming" else call.now()
    if update is not None and update.behavior != "none":
        invoice["subscription_proration_date"] = update.proration_date
    return render(store, invoice, call.version)


@route("GET", "/v1/invoices/upcoming")
def upcoming(call: Call) -> dict[str, Any]:
    if is_basil_or_later(call.version):
        raise invalid(
            f"The upcoming invoice endpoint was removed in API version `{BASIL}`. "
            "Use POST /v1/invoices/create_preview instead.",
            code="api_version_unsupported",
        )
    return preview(call)


@route("POST", "/v1/invoices/create_preview")
def create_preview(call: Call) -> dict[str, Any]:
    return preview(call)


@route("GET", "/v1/invoices/{id}")
def retrieve(call: Call) -> dict[str, Any]:
    return call.render(call.fetch("invoice", call.path["id"], "invoice"))


@route("GET", "/v1/invoices/{id}/lines")
def lines(call: Call) -> dict[str, Any]:
    invoice = call.fetch("invoice", call.path["id"], "invoice")
    data = invoice["lines"]["data"]
    rendered = {line["id"]: render_line(call.store, line, call.version) for line in data}
    return call.page(data, f"/v1/invoices/{invoice['id']}/lines", transform=lambda d: rendered[d["id"]])


@route("GET", "/v1/invoices")
def list_invoices(call: Call) -> dict[str, Any]:
    billing.advance_all(call.store)
    items = call.store.all("invoice")
    for name in ("customer", "subscription", "status"):
        if call.params.get(name):
            items = [i for i in items if i[name] == call.params[name]]
    return call.page(items, "/v1/invoices")


@route("GET", "/v1/invoiceitems")
def list_invoice_items(call: Call) -> dict[str, Any]:
    """Invoice items (the prorations of subscription updates): filters customer, invoice, pending."""
    items = call.store.all("invoiceitem")
    for name in ("customer", "invoice"):
        if call.params.get(name):
            items = [i for i in items if i[name] == call.params[name]]
    if "pending" in call.params:
        pending = as_bool(call.params["pending"], "pending")
        items = [i for i in items if (i["invoice"] is None) == pending]
    return call.page(items, "/v1/invoiceitems")


@route("GET", "/v1/invoiceitems/{id}")
def retrieve_invoice_item(call: Call) -> dict[str, Any]:
    return call.render(call.fetch("invoiceitem", call.path["id"], "invoiceitem"))
