"""Idempotency-Key: replay with Idempotent-Replayed, conflict on different params."""

import pytest
import stripe


def test_same_key_and_params_replays_the_first_response(legacy):
    first = legacy.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "key-1"})
    again = legacy.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "key-1"})
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert len(legacy.v1.customers.list().data) == 1


def test_same_key_with_different_params_is_idempotency_error(legacy):
    legacy.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "key-2"})
    with pytest.raises(stripe.IdempotencyError) as info:
        legacy.v1.customers.create({"email": "b@example.com"}, {"idempotency_key": "key-2"})
    assert info.value.http_status == 400
    assert info.value.error.type == "idempotency_error"


def test_raw_request_accepts_idempotency_key(legacy):
    price = legacy.v1.prices.create(
        {
            "product": legacy.v1.products.create({"name": "p"}).id,
            "currency": "usd",
            "unit_amount": 1,
            "recurring": {"interval": "month", "usage_type": "metered"},
        }
    )
    customer = legacy.v1.customers.create({"email": "u@example.com"})
    subscription = legacy.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    item_id = subscription["items"].data[0].id
    for _ in range(3):
        legacy.raw_request(
            "post", f"/v1/subscription_items/{item_id}/usage_records", quantity=5, idempotency_key="usage:1"
        )
    assert legacy.v1.invoices.create_preview({"subscription": subscription.id}).total == 5


def test_keys_expire_after_24_hours_of_virtual_time(legacy, emulator):
    legacy.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "key-3"})
    emulator.advance_clock(hours=24, seconds=2)
    other = legacy.v1.customers.create({"email": "b@example.com"}, {"idempotency_key": "key-3"})
    assert other.email == "b@example.com"
