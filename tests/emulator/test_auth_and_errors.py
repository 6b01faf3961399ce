"""Auth and Stripe-shaped errors."""

import httpx
import pytest
import stripe


def test_request_without_key_is_401_authentication_error(emulator):
    response = httpx.get(f"{emulator.url}/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_live_or_unknown_key_is_refused(emulator):
    client = stripe.StripeClient("sk_live_nope", base_addresses={"api": emulator.url})
    with pytest.raises(stripe.AuthenticationError) as info:
        client.v1.customers.list()
    assert info.value.http_status == 401
    assert "Invalid API Key" in info.value.user_message


def test_restricted_test_key_is_accepted(emulator):
    client = stripe.StripeClient("rk_test_123", base_addresses={"api": emulator.url})
    assert client.v1.customers.list().data == []


def test_missing_resource_is_404_resource_missing_with_param(legacy):
    with pytest.raises(stripe.InvalidRequestError) as info:
        legacy.v1.customers.retrieve("cus_missing")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"
    assert info.value.param == "id"
    assert info.value.user_message == "No such customer: 'cus_missing'"


def test_unknown_url_is_404_invalid_request(emulator):
    response = httpx.get(f"{emulator.url}/v1/nothing_here", headers={"Authorization": "Bearer sk_test_x"})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_responses_carry_request_id_and_version(legacy):
    customer = legacy.v1.customers.create({"email": "a@example.com"})
    headers = customer.last_response.headers
    assert headers["Request-Id"].startswith("req_")
    assert headers["Stripe-Version"] == "2020-08-27"


def test_missing_header_version_defaults_to_2020_08_27(emulator):
    response = httpx.post(
        f"{emulator.url}/v1/customers",
        headers={"Authorization": "Bearer sk_test_x"},
        data={"email": "a@b.co"},
    )
    assert response.headers["Stripe-Version"] == "2020-08-27"
