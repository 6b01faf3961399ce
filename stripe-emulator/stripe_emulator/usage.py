"""Billed quantities for metered items: legacy usage records by aggregate_usage, or a meter's formula."""

from decimal import Decimal
from typing import Any

from stripe_emulator.store import Store

Quantity = int | Decimal


def billed_quantity(
    store: Store, customer_id: str, item: dict[str, Any], price: dict[str, Any], start: int, end: int
) -> Quantity:
    """The quantity a metered ``item`` bills for the period ``[start, end)``.

    Legacy usage records belong to the item: all of the period's records count, whatever price the item
    had when they were made. A Billing Meter's usage belongs to the customer: an item bills the meter's
    usage from the moment it got its price (Stripe's classic billing mode: after a mid-period price change
    "we reflect only usage that occurs after the update").
    """
    recurring = price.get("recurring") or {}
    if recurring.get("meter"):
        meter = store.get(recurring["meter"], "billing.meter")
        since = item.get("_price_since")
        if since is not None:
            start = max(start, int(since))
        return meter_aggregate(store, meter, customer_id, start, end) if meter and start < end else 0
    records = list(store.usage_records.get(item["id"], {}).values())
    return aggregate_records(records, recurring.get("aggregate_usage") or "sum", start, end)


def aggregate_records(records: list[dict[str, Any]], mode: str, start: int, end: int) -> int:
    """Stripe's aggregate_usage over usage records (one record per timestamp)."""
    if mode == "last_ever":
        earlier = [r for r in records if r["timestamp"] < end]
        return _latest(earlier)["quantity"] if earlier else 0
    in_period = [r for r in records if start <= r["timestamp"] < end]
    if not in_period:
        return 0
    if mode == "sum":
        return sum(r["quantity"] for r in in_period)
    if mode == "max":
        return max(r["quantity"] for r in in_period)
    return int(_latest(in_period)["quantity"])  # last_during_period


def _latest(records: list[dict[str, Any]]) -> dict[str, Any]:
    return max(records, key=lambda r: (r["timestamp"], r.get("_seq", 0)))


def meter_events_for(
    store: Store, meter: dict[str, Any], customer_id: str, start: int, end: int
) -> list[dict[str, Any]]:
    customer_key = meter["customer_mapping"]["event_payload_key"]
    return [
        e
        for e in store.meter_events.get(meter["event_name"], [])
        if start <= e["timestamp"] < end and e["payload"].get(customer_key) == customer_id
    ]


def meter_aggregate(store: Store, meter: dict[str, Any], customer_id: str, start: int, end: int) -> Quantity:
    """The meter's formula (sum | count | last) over one customer's events in ``[start, end)``."""
    events = meter_events_for(store, meter, customer_id, start, end)
    return aggregate_events(meter, events)


def aggregate_events(meter: dict[str, Any], events: list[dict[str, Any]]) -> Quantity:
    formula = meter["default_aggregation"]["formula"]
    if formula == "count":
        return len(events)
    if not events:
        return 0
    value_key = meter["value_settings"]["event_payload_key"]
    if formula == "last":
        latest = max(enumerate(events), key=lambda pair: (pair[1]["timestamp"], pair[0]))[1]
        return _whole(Decimal(latest["payload"].get(value_key, "0")))
    return _whole(sum((Decimal(e["payload"].get(value_key, "0")) for e in events), Decimal(0)))


def _whole(value: Decimal) -> Quantity:
    return int(value) if value == value.to_integral_value() else value
