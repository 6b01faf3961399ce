"""Legacy usage records (before basil): increment/set, period checks, aggregate_usage modes, summaries."""

import pytest
import stripe

from tests.emulator.conftest import LATEST, body, preview_total, recurring_price, subscribe


def _metered(client, aggregate_usage="sum", **price):
    price.setdefault("unit_amount", 1)
    recurring = {"interval": "day", "usage_type": "metered", "aggregate_usage": aggregate_usage}
    created = recurring_price(client, recurring=recurring, **price)
    subscription = subscribe(client, created.id)
    return subscription, subscription["items"].data[0].id


def _record(client, item_id, quantity, timestamp="now", action=None, **options):
    params = {"quantity": quantity, "timestamp": timestamp, **options}
    if action:
        params["action"] = action
    return body(client.raw_request("post", f"/v1/subscription_items/{item_id}/usage_records", **params))


def test_usage_record_increments_by_default_at_the_same_timestamp(legacy):
    subscription, item_id = _metered(legacy)
    ts = subscription.current_period_start + 10
    first = _record(legacy, item_id, 5, ts)
    assert first["object"] == "usage_record"
    assert first["id"].startswith("mbur_")
    assert (first["quantity"], first["timestamp"], first["subscription_item"]) == (5, ts, item_id)
    assert _record(legacy, item_id, 7, ts)["quantity"] == 12
    assert _record(legacy, item_id, 3, ts, action="set")["quantity"] == 3
    assert preview_total(legacy, subscription) == 3


def test_usage_records_are_refused_from_basil(emulator, legacy):
    _, item_id = _metered(legacy)
    modern = emulator.client(version=LATEST)
    with pytest.raises(stripe.InvalidRequestError) as info:
        modern.raw_request("post", f"/v1/subscription_items/{item_id}/usage_records", quantity=1)
    assert info.value.http_status == 400
    assert "2025-03-31.basil" in info.value.user_message
    # the same client may still pin the old version per request
    ok = legacy.raw_request(
        "post", f"/v1/subscription_items/{item_id}/usage_records", quantity=1, stripe_version="2020-08-27"
    )
    assert body(ok)["quantity"] == 1
    with pytest.raises(stripe.InvalidRequestError):
        modern.raw_request("get", f"/v1/subscription_items/{item_id}/usage_record_summaries")


def test_timestamp_outside_the_current_period_is_rejected(legacy):
    subscription, item_id = _metered(legacy)
    for ts in (subscription.current_period_start - 1, subscription.current_period_end):
        with pytest.raises(stripe.InvalidRequestError) as info:
            _record(legacy, item_id, 1, ts)
        assert info.value.param == "timestamp"


def test_licensed_items_take_no_usage_records(legacy):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=1).id)
    with pytest.raises(stripe.InvalidRequestError, match="metered"):
        _record(legacy, subscription["items"].data[0].id, 1)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("sum", 5 + 9 + 2), ("max", 9), ("last_during_period", 2), ("last_ever", 2)],
)
def test_aggregate_usage_modes_in_one_period(legacy, mode, expected):
    subscription, item_id = _metered(legacy, mode)
    start = subscription.current_period_start
    _record(legacy, item_id, 9, start + 20)
    _record(legacy, item_id, 5, start + 10)
    _record(legacy, item_id, 2, start + 30)
    assert preview_total(legacy, subscription) == expected


@pytest.mark.parametrize(
    ("mode", "expected"), [("sum", 0), ("max", 0), ("last_during_period", 0), ("last_ever", 8)]
)
def test_only_last_ever_carries_usage_into_the_next_period(legacy, emulator, mode, expected):
    subscription, item_id = _metered(legacy, mode)
    _record(legacy, item_id, 8, subscription.current_period_start + 5)
    emulator.advance_clock(days=1, seconds=1)
    invoice = legacy.v1.invoices.retrieve(legacy.v1.subscriptions.retrieve(subscription.id).latest_invoice)
    assert invoice.amount_due == 8  # the closed period billed its usage
    assert preview_total(legacy, subscription) == expected


def test_usage_record_summaries_per_period(legacy, emulator):
    subscription, item_id = _metered(legacy)
    _record(legacy, item_id, 4, subscription.current_period_start + 1)
    _record(legacy, item_id, 6, subscription.current_period_start + 2)
    emulator.advance_clock(days=1, seconds=1)
    _record(legacy, item_id, 1)
    summaries = body(legacy.raw_request("get", f"/v1/subscription_items/{item_id}/usage_record_summaries"))
    assert summaries["object"] == "list"
    assert [s["total_usage"] for s in summaries["data"]] == [1, 10]
    assert summaries["data"][0]["invoice"] is None
    assert summaries["data"][1]["invoice"].startswith("in_")
