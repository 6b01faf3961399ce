"""Fault injection (error, timeout, drop), request counting and the request log."""

import hashlib
import time

import pytest
import stripe


def test_error_fault_fails_without_applying(legacy, emulator):
    emulator.add_fault("/v1/customers", "error", method="POST")
    with pytest.raises(stripe.APIError) as info:
        legacy.v1.customers.create({"email": "a@example.com"})
    assert info.value.http_status == 500
    assert legacy.v1.customers.list().data == []
    assert emulator.faults() == []
    legacy.v1.customers.create({"email": "a@example.com"})


def test_drop_applies_then_retry_with_same_key_yields_one_record(legacy, emulator):
    emulator.add_fault("/v1/customers", "drop", method="POST")
    with pytest.raises(stripe.APIError):
        legacy.v1.customers.create({"email": "once@example.com"}, {"idempotency_key": "drop-1"})
    retried = legacy.v1.customers.create({"email": "once@example.com"}, {"idempotency_key": "drop-1"})
    assert retried.last_response.headers.get("Idempotent-Replayed") == "true"
    assert [c.id for c in legacy.v1.customers.list().data] == [retried.id]


def test_sdk_retries_transparently_through_a_dropped_response(emulator):
    client = emulator.client(max_network_retries=2)
    emulator.add_fault(r"^/v1/customers$", "drop", count=1)
    customer = client.v1.customers.create({"email": "auto@example.com"})
    assert [c.id for c in client.v1.customers.list().data] == [customer.id]


def test_timeout_fault_hangs_then_fails(legacy, emulator):
    emulator.add_fault("/v1/products", "timeout", seconds=0.3)
    with pytest.raises(stripe.APIError):
        legacy.v1.products.list()


def test_faults_are_listed_with_remaining_count_and_cleared(emulator):
    emulator.add_fault("/v1/prices", "error", count=3)
    assert [(f["path"], f["count"]) for f in emulator.faults()] == [("/v1/prices", 3)]
    emulator.clear_faults()
    assert emulator.faults() == []


def test_probability_zero_never_fires(legacy, emulator):
    emulator.add_fault("/v1/customers", "error", count=5, probability=0.0)
    legacy.v1.customers.list()
    assert emulator.faults()[0]["count"] == 5


def test_stats_count_requests_per_path(legacy, emulator):
    customer = legacy.v1.customers.create({"email": "a@example.com"})
    legacy.v1.customers.retrieve(customer.id)
    legacy.v1.customers.retrieve(customer.id)
    assert emulator.request_count("POST", "/v1/customers") == 1
    assert emulator.request_count("GET", f"/v1/customers/{customer.id}") == 2
    assert emulator.stats()["total"] == 3


def test_the_request_log_says_which_key_each_request_used_without_holding_the_key(emulator):
    first = stripe.StripeClient("sk_test_first_key_aaaa", base_addresses={"api": emulator.url})
    second = stripe.StripeClient("sk_test_second_key_bbbb", base_addresses={"api": emulator.url})
    first.v1.customers.create({"email": "one@example.com"})
    second.v1.customers.list()

    logged = emulator.requests(path="/v1/customers")

    assert [(e["method"], e["key_last4"]) for e in logged] == [("POST", "aaaa"), ("GET", "bbbb")]
    assert logged[1]["key_sha256"] == hashlib.sha256(b"sk_test_second_key_bbbb").hexdigest()[:16]
    assert "sk_test_first_key_aaaa" not in str(emulator.requests())
    assert emulator.requests(method="GET", path="/v1/customers") == [logged[1]]
    emulator.reset()
    assert emulator.requests() == []


def test_delay_fault_answers_late_but_normally(legacy, emulator):
    emulator.add_fault("/v1/customers", "delay", method="POST", seconds=0.3)
    started = time.monotonic()
    customer = legacy.v1.customers.create({"email": "late@example.com"})
    assert time.monotonic() - started >= 0.3
    assert [c.id for c in legacy.v1.customers.list().data] == [customer.id]
