"""Billing Meters: meters (CRUD, deactivate/reactivate), meter events and event summaries."""

from decimal import Decimal
from typing import Any

from stripe_emulator.errors import StripeError, invalid, missing
from stripe_emulator.forms import as_decimal, as_dict, as_int, enum, merge_metadata
from stripe_emulator.ids import new_id
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store, clone
from stripe_emulator.usage import aggregate_events, meter_events_for

IDENTIFIER_WINDOW = 24 * 3600
MAX_PAST = 35 * 86_400
MAX_FUTURE = 5 * 60
_WINDOWS = {"hour": 3600, "day": 86_400}


def create_meter(store: Store, params: dict[str, Any]) -> dict[str, Any]:
    for name in ("display_name", "event_name"):
        if not params.get(name):
            raise missing(name)
    aggregation = as_dict(params.get("default_aggregation"), "default_aggregation")
    if not aggregation.get("formula"):
        raise missing("default_aggregation[formula]")
    formula = enum(aggregation["formula"], "default_aggregation[formula]", ("sum", "count", "last"))
    event_name = str(params["event_name"])
    if any(m["event_name"] == event_name and m["status"] == "active" for m in store.all("billing.meter")):
        raise invalid(f"An active meter with event_name `{event_name}` already exists.", "event_name")
    mapping = as_dict(params.get("customer_mapping"), "customer_mapping")
    value_settings = as_dict(params.get("value_settings"), "value_settings")
    now = store.clock.now()
    meter = store.add(
        {
            "id": new_id("mtr"),
            "object": "billing.meter",
            "created": now,
            "customer_mapping": {
                "event_payload_key": mapping.get("event_payload_key") or "stripe_customer_id",
                "type": enum(mapping.get("type", "by_id"), "customer_mapping[type]", ("by_id",)),
            },
            "default_aggregation": {"formula": formula},
            "display_name": str(params["display_name"]),
            "event_name": event_name,
            "event_time_window": params.get("event_time_window") or None,
            "livemode": False,
            "metadata": merge_metadata({}, params.get("metadata")),
            "status": "active",
            "status_transitions": {"deactivated_at": None},
            "updated": now,
            "value_settings": {"event_payload_key": value_settings.get("event_payload_key") or "value"},
        }
    )
    store.emit("billing.meter.created", meter)
    return meter


@route("POST", "/v1/billing/meters")
def create(call: Call) -> dict[str, Any]:
    return call.render(create_meter(call.store, call.params))


@route("GET", "/v1/billing/meters/{id}")
def retrieve(call: Call) -> dict[str, Any]:
    return call.render(call.fetch("billing.meter", call.path["id"], "billing.meter"))


@route("POST", "/v1/billing/meters/{id}")
def update(call: Call) -> dict[str, Any]:
    meter = call.fetch("billing.meter", call.path["id"], "billing.meter")
    before = clone(meter)
    if call.params.get("display_name"):
        meter["display_name"] = str(call.params["display_name"])
    meter["updated"] = call.now()
    call.store.emit_update("billing.meter.updated", meter, before)
    return call.render(meter)


@route("GET", "/v1/billing/meters")
def list_meters(call: Call) -> dict[str, Any]:
    items = call.store.all("billing.meter")
    if call.params.get("status"):
        items = [m for m in items if m["status"] == call.params["status"]]
    return call.page(items, "/v1/billing/meters")


def _set_status(call: Call, status: str) -> dict[str, Any]:
    meter = call.fetch("billing.meter", call.path["id"], "billing.meter")
    if meter["status"] == status:
        raise invalid(f"This meter is already {status}.")
    before = clone(meter)
    meter["status"] = status
    meter["status_transitions"]["deactivated_at"] = call.now() if status == "inactive" else None
    meter["updated"] = call.now()
    kind = "deactivated" if status == "inactive" else "reactivated"
    call.store.emit_update(f"billing.meter.{kind}", meter, before)
    return call.render(meter)


@route("POST", "/v1/billing/meters/{id}/deactivate")
def deactivate(call: Call) -> dict[str, Any]:
    return _set_status(call, "inactive")


@route("POST", "/v1/billing/meters/{id}/reactivate")
def reactivate(call: Call) -> dict[str, Any]:
    return _set_status(call, "active")


@route("POST", "/v1/billing/meter_events")
def create_event(call: Call) -> dict[str, Any]:
    store = call.store
    event_name = str(call.require("event_name"))
    payload = {str(k): str(v) for k, v in as_dict(call.require("payload"), "payload").items()}
    now = call.now()
    raw_ts = call.params.get("timestamp")
    timestamp = now if raw_ts in (None, "") else as_int(raw_ts, "timestamp")
    if timestamp < now - MAX_PAST:
        raise invalid("Timestamp must be within the past 35 calendar days.", "timestamp")
    if timestamp > now + MAX_FUTURE:
        raise invalid("Timestamp must be no more than 5 minutes in the future.", "timestamp")
    meter = next(
        (m for m in store.all("billing.meter") if m["event_name"] == event_name and m["status"] == "active"),
        None,
    )
    if meter is not None:
        customer_key = meter["customer_mapping"]["event_payload_key"]
        if not payload.get(customer_key):
            raise missing(f"payload[{customer_key}]")
        value_key = meter["value_settings"]["event_payload_key"]
        if meter["default_aggregation"]["formula"] != "count":
            if payload.get(value_key) in (None, ""):
                raise missing(f"payload[{value_key}]")
            as_decimal(payload[value_key], f"payload[{value_key}]")
    identifier = str(call.params.get("identifier") or new_id("idmp"))
    seen = store.meter_identifiers.get(identifier)
    if seen is not None and now - seen < IDENTIFIER_WINDOW:
        raise StripeError(
            f"An event already exists with identifier {identifier}.",
            param="identifier",
            headers={"Stripe-Should-Retry": "false"},
        )
    store.meter_identifiers[identifier] = now
    event = {
        "object": "billing.meter_event",
        "created": now,
        "event_name": event_name,
        "identifier": identifier,
        "livemode": False,
        "payload": payload,
        "timestamp": timestamp,
    }
    store.meter_events.setdefault(event_name, []).append(event)
    return dict(event)


@route("GET", "/v1/billing/meters/{id}/event_summaries")
def event_summaries(call: Call) -> dict[str, Any]:
    meter = call.fetch("billing.meter", call.path["id"], "billing.meter")
    customer = str(call.require("customer"))
    start = as_int(call.require("start_time"), "start_time")
    end = as_int(call.require("end_time"), "end_time")
    if end <= start:
        raise invalid("end_time must be after start_time.", "end_time")
    window = call.params.get("value_grouping_window")
    step = end - start
    if window not in (None, ""):
        step = _WINDOWS[enum(window, "value_grouping_window", tuple(_WINDOWS))]
        if start % step or end % step:
            raise invalid(f"start_time and end_time must align with the {window} boundaries.", "start_time")
    events = meter_events_for(call.store, meter, customer, start, end)
    summaries = []
    for window_start in range(start, end, step):
        window_end = min(window_start + step, end)
        in_window = [e for e in events if window_start <= e["timestamp"] < window_end]
        value = aggregate_events(meter, in_window)
        summaries.append(
            {
                "id": f"mtrusg_{meter['id'][4:]}_{window_start}",
                "object": "billing.meter_event_summary",
                "aggregated_value": float(Decimal(value)),
                "end_time": window_end,
                "livemode": False,
                "meter": meter["id"],
                "start_time": window_start,
            }
        )
    return call.page(summaries, f"/v1/billing/meters/{meter['id']}/event_summaries")
