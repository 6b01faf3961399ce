"""Billing Meters: meter CRUD, meter events (dedupe, time window), summaries, meter-priced invoices."""

import pytest
import stripe

from tests.emulator.conftest import preview_total


def _meter(client, formula="sum", event_name="api_calls", **extra):
    return client.v1.billing.meters.create(
        {
            "display_name": "API calls",
            "event_name": event_name,
            "default_aggregation": {"formula": formula},
            **extra,
        }
    )


def _metered_subscription(client, meter, **price):
    product = client.v1.products.create({"name": "My API"})
    price = client.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
            **(price or {"unit_amount": 1}),
        }
    )
    customer = client.v1.customers.create({"email": "m@example.com"})
    return client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})


def _event(client, customer_id, value=None, event_name="api_calls", **extra):
    payload = {"stripe_customer_id": customer_id}
    if value is not None:
        payload["value"] = str(value)
    return client.v1.billing.meter_events.create({"event_name": event_name, "payload": payload, **extra})


def test_meter_defaults(modern):
    meter = _meter(modern)
    assert meter.id.startswith("mtr_")
    assert meter.object == "billing.meter"
    assert meter.status == "active"
    assert meter.customer_mapping.event_payload_key == "stripe_customer_id"
    assert meter.customer_mapping.type == "by_id"
    assert meter.value_settings.event_payload_key == "value"
    assert meter.default_aggregation.formula == "sum"


def test_meter_update_list_deactivate_reactivate(modern):
    meter = _meter(modern)
    assert modern.v1.billing.meters.update(meter.id, {"display_name": "Calls"}).display_name == "Calls"
    assert [m.id for m in modern.v1.billing.meters.list().data] == [meter.id]
    assert modern.v1.billing.meters.deactivate(meter.id).status == "inactive"
    assert modern.v1.billing.meters.list({"status": "active"}).data == []
    assert modern.v1.billing.meters.reactivate(meter.id).status == "active"


@pytest.mark.parametrize(("formula", "expected"), [("sum", 3 + 4 + 10), ("count", 3), ("last", 10)])
def test_meter_price_bills_the_formula_over_the_period(modern, formula, expected):
    meter = _meter(modern, formula)
    subscription = _metered_subscription(modern, meter)
    for value in (3, 4, 10):
        _event(modern, subscription.customer, value)
    assert preview_total(modern, subscription) == expected


def test_events_of_other_customers_do_not_count(modern):
    meter = _meter(modern)
    subscription = _metered_subscription(modern, meter)
    _event(modern, "cus_someone_else", 100)
    _event(modern, subscription.customer, 2)
    assert preview_total(modern, subscription) == 2


def test_meter_with_package_price_rounds_up(modern):
    meter = _meter(modern)
    subscription = _metered_subscription(
        modern, meter, unit_amount=1000, transform_quantity={"divide_by": 1000, "round": "up"}
    )
    _event(modern, subscription.customer, 2500)
    assert preview_total(modern, subscription) == 3000


def test_duplicate_identifier_is_rejected_within_24h(modern, emulator):
    meter = _meter(modern)
    subscription = _metered_subscription(modern, meter)
    _event(modern, subscription.customer, 1, identifier="usage-1")
    with pytest.raises(stripe.InvalidRequestError) as info:
        _event(modern, subscription.customer, 1, identifier="usage-1")
    assert "An event already exists with identifier usage-1" in info.value.user_message
    assert preview_total(modern, subscription) == 1
    emulator.advance_clock(hours=24, seconds=1)
    _event(modern, subscription.customer, 1, identifier="usage-1")


def test_timestamp_window_is_35_days_back_and_5_minutes_ahead(modern, emulator):
    meter = _meter(modern)
    customer = _metered_subscription(modern, meter).customer
    now = emulator.now()
    _event(modern, customer, 1, timestamp=now - 34 * 86_400)
    _event(modern, customer, 1, timestamp=now + 240)
    for ts in (now - 36 * 86_400, now + 600):
        with pytest.raises(stripe.InvalidRequestError) as info:
            _event(modern, customer, 1, timestamp=ts)
        assert info.value.param == "timestamp"


def test_missing_customer_in_payload_is_rejected(modern):
    _meter(modern)
    with pytest.raises(stripe.InvalidRequestError) as info:
        modern.v1.billing.meter_events.create({"event_name": "api_calls", "payload": {"value": "1"}})
    assert info.value.param == "payload[stripe_customer_id]"


def test_event_summaries_total_and_hourly(modern, emulator):
    meter = _meter(modern)
    customer = _metered_subscription(modern, meter).customer
    hour = (emulator.now() // 3600) * 3600 - 7200
    _event(modern, customer, 5, timestamp=hour + 10)
    _event(modern, customer, 7, timestamp=hour + 3600 + 10)
    whole = modern.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer, "start_time": hour, "end_time": hour + 7200}
    )
    assert [s.aggregated_value for s in whole.data] == [12.0]
    hourly = modern.v1.billing.meters.event_summaries.list(
        meter.id,
        {"customer": customer, "start_time": hour, "end_time": hour + 7200, "value_grouping_window": "hour"},
    )
    assert [(s.start_time - hour, s.aggregated_value) for s in hourly.data] == [(0, 5.0), (3600, 7.0)]


def test_custom_payload_keys(modern):
    meter = _meter(
        modern,
        customer_mapping={"event_payload_key": "cust", "type": "by_id"},
        value_settings={"event_payload_key": "calls"},
    )
    subscription = _metered_subscription(modern, meter)
    modern.v1.billing.meter_events.create(
        {"event_name": "api_calls", "payload": {"cust": subscription.customer, "calls": "6"}}
    )
    assert preview_total(modern, subscription) == 6
