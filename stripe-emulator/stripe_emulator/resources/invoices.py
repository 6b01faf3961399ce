"""Invoices: roll-over invoices (list, retrieve, lines) and previews (upcoming, create_preview)."""

from typing import Any

from stripe_emulator import billing
from stripe_emulator.errors import invalid, missing
from stripe_emulator.render import public, render, renderer
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store
from stripe_emulator.versions import BASIL, is_basil_or_later


def render_line(store: Store, line: dict[str, Any], version: str) -> dict[str, Any]:
    out = public(line)
    price = store.get(line["price"], "price")
    if price is not None:
        out["price"] = render(store, price, version)
    if is_basil_or_later(version):
        out["parent"] = {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "subscription": line["subscription"],
                "subscription_item": line["subscription_item"],
                "proration": False,
            },
        }
        out["pricing"] = {
            "type": "price_details",
            "price_details": {"price": line["price"], "product": price["product"] if price else None},
            "unit_amount_decimal": price["unit_amount_decimal"] if price else None,
        }
    return out


@renderer("invoice")
def render_invoice(store: Store, invoice: dict[str, Any], version: str) -> dict[str, Any]:
    out = public(invoice)
    out["lines"]["data"] = [render_line(store, line, version) for line in invoice["lines"]["data"]]
    if is_basil_or_later(version):
        out["parent"] = {
            "type": "subscription_details",
            "subscription_details": {"subscription": invoice["subscription"], "metadata": {}},
        }
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


def preview(call: Call) -> dict[str, Any]:
    store = call.store
    subscription = _subscription_for_preview(call)
    lines = billing.next_invoice_lines(store, subscription)
    for index, line in enumerate(lines):
        line["id"] = f"il_tmp_{subscription['id'][4:]}_{index}"
    invoice = billing.invoice_shape(
        store,
        subscription,
        lines,
        subscription["current_period_start"],
        subscription["current_period_end"],
        "upcoming",
        f"upcoming_in_{subscription['id'][4:]}",
        created=call.now(),
    )
    invoice["next_payment_attempt"] = subscription["current_period_end"]
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
