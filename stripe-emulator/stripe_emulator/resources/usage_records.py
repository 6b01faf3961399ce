"""Legacy usage records and usage record summaries (only before 2025-03-31.basil)."""

from typing import Any

from stripe_emulator import billing
from stripe_emulator.errors import invalid
from stripe_emulator.forms import as_int, enum
from stripe_emulator.ids import new_id
from stripe_emulator.routing import Call, route
from stripe_emulator.usage import aggregate_records
from stripe_emulator.versions import BASIL, is_basil_or_later


def _refuse_from_basil(call: Call, what: str) -> None:
    if is_basil_or_later(call.version):
        raise invalid(
            f"The {what} endpoint is not available in API version {call.version}: legacy usage-based billing "
            f"was removed in `{BASIL}`. Record usage with Billing Meters (POST /v1/billing/meter_events).",
            code="api_version_unsupported",
        )


def _metered_item(call: Call) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    item = call.fetch("subscription_item", call.path["id"], "subscription item")
    subscription = call.fetch("subscription", item["subscription"], "subscription")
    billing.advance(call.store, subscription)
    price = call.fetch("price", item["price"], "price")
    return item, subscription, price


@route("POST", "/v1/subscription_items/{id}/usage_records")
def create(call: Call) -> dict[str, Any]:
    _refuse_from_basil(call, "usage records")
    item, subscription, price = _metered_item(call)
    if not billing.is_metered(price):
        raise invalid(
            "You can only create usage records for subscription items with metered prices "
            "(`recurring[usage_type]=metered`)."
        )
    if price["recurring"].get("meter"):
        raise invalid("This price is backed by a meter: report usage with meter events instead.")
    if subscription["status"] == "canceled":
        raise invalid("You cannot create usage records for a canceled subscription.")
    quantity = as_int(call.require("quantity"), "quantity")
    if quantity < 0:
        raise invalid("Invalid non-negative integer", "quantity")
    action = enum(call.params.get("action", "increment"), "action", ("increment", "set"))
    raw_ts = call.params.get("timestamp", "now")
    timestamp = call.now() if raw_ts in ("now", "", None) else as_int(raw_ts, "timestamp")
    start, end = subscription["current_period_start"], subscription["current_period_end"]
    if timestamp < start:
        raise invalid(
            "Cannot create the usage record with this timestamp because timestamps must be after the "
            "subscription's last invoice period (or current period start time).",
            "timestamp",
        )
    if timestamp >= end:
        raise invalid(
            "Cannot create the usage record with this timestamp because timestamps must be before the "
            "subscription's current period end time.",
            "timestamp",
        )
    records = call.store.usage_records.setdefault(item["id"], {})
    key = str(timestamp)
    record = records.get(key)
    if record is None:
        record = records[key] = {
            "id": new_id("mbur"),
            "object": "usage_record",
            "livemode": False,
            "quantity": 0,
            "subscription_item": item["id"],
            "timestamp": timestamp,
        }
    record["quantity"] = record["quantity"] + quantity if action == "increment" else quantity
    record["_seq"] = call.store.next_number("usage_record")
    return {k: v for k, v in record.items() if not k.startswith("_")}


@route("GET", "/v1/subscription_items/{id}/usage_record_summaries")
def summaries(call: Call) -> dict[str, Any]:
    _refuse_from_basil(call, "usage record summaries")
    item, subscription, price = _metered_item(call)
    records = list(call.store.usage_records.get(item["id"], {}).values())
    mode = (price.get("recurring") or {}).get("aggregate_usage") or "sum"
    periods: list[tuple[int, int, str | None]] = [
        (subscription["current_period_start"], subscription["current_period_end"], None)
    ]
    invoices = [
        inv
        for inv in call.store.all("invoice")
        if inv["subscription"] == subscription["id"] and inv["billing_reason"] == "subscription_cycle"
    ]
    periods += [(inv["period_start"], inv["period_end"], inv["id"]) for inv in invoices]
    result = [
        {
            "id": f"sis_{item['id'][3:]}_{start}",
            "object": "usage_record_summary",
            "invoice": invoice_id,
            "livemode": False,
            "period": {"start": start, "end": end},
            "subscription_item": item["id"],
            "total_usage": aggregate_records(records, mode, start, end),
        }
        for start, end, invoice_id in periods
    ]
    return call.page(result, f"/v1/subscription_items/{item['id']}/usage_record_summaries")
