"""StripeGateway alone, against respx: headers it sends, idempotency keys, error mapping, base address.

The only tests that mock HTTP; everything else talks to the stripe-emulator through the real SDK.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from portal_api.config import Settings
from portal_api.errors import Conflict, NotFound, PortalError, Unprocessable, UpstreamError
from portal_api.stripe_client import (
    GatewayOptions,
    StripeAuthFailed,
    StripeGateway,
    WebhookSignatureInvalid,
    checkout_idempotency_key,
    construct_event,
)

BASE = "http://stripe.test"
SECRET_KEY = "sk_test_51SuperSecretValue0123456789"
WEBHOOK_SECRET = "whsec_unit_test"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "stripe_api_base": BASE,
        "stripe_api_key": SECRET_KEY,
        "stripe_api_version": "2020-08-27",
        "stripe_max_retries": 0,
        "stripe_webhook_secret": WEBHOOK_SECRET,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def gateway() -> AsyncIterator[StripeGateway]:
    gw = StripeGateway(GatewayOptions.from_settings(make_settings()))
    yield gw
    await gw.aclose()


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def stripe_error(status: int, type_: str, code: str | None = None, message: str = "boom") -> httpx.Response:
    return httpx.Response(status, json={"error": {"type": type_, "code": code, "message": message}})


CUSTOMER = {"id": "cus_1", "object": "customer", "email": "a@example.com", "name": None, "metadata": {}}


@respx.mock
async def test_create_customer_posts_to_base_address_with_pinned_version_and_derived_key(
    gateway: StripeGateway,
) -> None:
    route = respx.post(f"{BASE}/v1/customers").mock(return_value=httpx.Response(200, json=CUSTOMER))

    customer = await gateway.create_customer(user_id="usr_1", email="a@example.com", name="Ada")

    assert customer == CUSTOMER and isinstance(customer, dict)
    request = route.calls.last.request
    assert request.headers["Stripe-Version"] == "2020-08-27"
    assert request.headers["Idempotency-Key"] == "customer:usr_1"
    assert request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert form(request) == {"email": ["a@example.com"], "metadata[user_id]": ["usr_1"], "name": ["Ada"]}


@respx.mock
async def test_retried_customer_creation_sends_the_same_key_and_a_replacement_a_new_one(
    gateway: StripeGateway,
) -> None:
    route = respx.post(f"{BASE}/v1/customers").mock(return_value=httpx.Response(200, json=CUSTOMER))

    await gateway.create_customer(user_id="usr_1", email="a@example.com")
    await gateway.create_customer(user_id="usr_1", email="a@example.com")
    await gateway.create_customer(user_id="usr_1", email="a@example.com", replaces="cus_old")

    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys == ["customer:usr_1", "customer:usr_1", "customer:usr_1:replaces:cus_old"]


@respx.mock
async def test_checkout_session_key_is_stable_per_attempt_and_metered_line_item_has_no_quantity(
    gateway: StripeGateway,
) -> None:
    route = respx.post(f"{BASE}/v1/checkout/sessions").mock(
        return_value=httpx.Response(200, json={"id": "cs_test_1", "url": "http://pay/cs_test_1"})
    )
    args: dict[str, Any] = {
        "user_id": "usr_1",
        "customer_id": "cus_1",
        "price_id": "price_metered",
        "metered": True,
        "success_url": "http://portal/return?checkout_session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://portal/pricing?canceled=1",
    }

    await gateway.create_checkout_session(**args, attempt="click-1")
    await gateway.create_checkout_session(**args, attempt="click-1")
    await gateway.create_checkout_session(**args, attempt="click-2")
    await gateway.create_checkout_session(**args)

    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys[0] == keys[1] == checkout_idempotency_key("usr_1", "price_metered", "cus_1", "click-1")
    assert keys[2] == "checkout:usr_1:price_metered:cus_1:click-2"
    assert keys[3].startswith("checkout:usr_1:price_metered:cus_1:") and keys[3] not in keys[:3]
    body = form(route.calls.last.request)
    assert body["line_items[0][price]"] == ["price_metered"]
    assert "line_items[0][quantity]" not in body
    assert body["mode"] == ["subscription"] and body["client_reference_id"] == ["usr_1"]
    assert body["success_url"] == ["http://portal/return?checkout_session_id={CHECKOUT_SESSION_ID}"]


@respx.mock
async def test_licensed_line_item_gets_quantity_one(gateway: StripeGateway) -> None:
    route = respx.post(f"{BASE}/v1/checkout/sessions").mock(
        return_value=httpx.Response(200, json={"id": "cs_test_1", "url": "u"})
    )

    await gateway.create_checkout_session(
        user_id="u", customer_id="c", price_id="p", metered=False, success_url="s", cancel_url="c"
    )

    assert form(route.calls.last.request)["line_items[0][quantity]"] == ["1"]


@respx.mock
async def test_missing_resource_becomes_not_found(gateway: StripeGateway) -> None:
    respx.get(f"{BASE}/v1/prices/price_nope").mock(
        return_value=stripe_error(
            404, "invalid_request_error", "resource_missing", "No such price: 'price_nope'"
        )
    )

    with pytest.raises(NotFound) as caught:
        await gateway.retrieve_price("price_nope")

    assert caught.value.status == 404


@respx.mock
async def test_other_invalid_request_becomes_422_with_stripes_reason(gateway: StripeGateway) -> None:
    respx.post(f"{BASE}/v1/customers").mock(
        return_value=stripe_error(
            400, "invalid_request_error", "parameter_invalid_email", "Invalid email address"
        )
    )

    with pytest.raises(Unprocessable) as caught:
        await gateway.create_customer(user_id="u", email="x")

    assert "Invalid email address" in caught.value.message


@respx.mock
async def test_idempotency_error_becomes_conflict(gateway: StripeGateway) -> None:
    respx.post(f"{BASE}/v1/customers").mock(return_value=stripe_error(400, "idempotency_error"))

    with pytest.raises(Conflict):
        await gateway.create_customer(user_id="u", email="a@example.com")


@pytest.mark.parametrize("status", [500, 503])
@respx.mock
async def test_stripe_server_error_becomes_502_upstream_error(gateway: StripeGateway, status: int) -> None:
    respx.get(f"{BASE}/v1/customers/cus_1").mock(return_value=stripe_error(status, "api_error"))

    with pytest.raises(UpstreamError) as caught:
        await gateway.retrieve_customer("cus_1")

    assert caught.value.status == 502 and caught.value.code == "upstream_error"


@respx.mock
async def test_connection_error_becomes_502_upstream_error(gateway: StripeGateway) -> None:
    respx.get(f"{BASE}/v1/customers/cus_1").mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(UpstreamError) as caught:
        await gateway.retrieve_customer("cus_1")

    assert caught.value.status == 502


@respx.mock
async def test_network_retries_reuse_the_idempotency_key() -> None:
    gw = StripeGateway(GatewayOptions.from_settings(make_settings(stripe_max_retries=1)))
    route = respx.post(f"{BASE}/v1/customers").mock(
        side_effect=[stripe_error(500, "api_error"), httpx.Response(200, json=CUSTOMER)]
    )
    try:
        await gw.create_customer(user_id="usr_9", email="a@example.com")
    finally:
        await gw.aclose()

    assert [c.request.headers["Idempotency-Key"] for c in route.calls] == ["customer:usr_9"] * 2


@respx.mock
async def test_auth_error_is_upstream_error_that_never_echoes_the_key(
    gateway: StripeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    masked = f"Invalid API Key provided: {SECRET_KEY[:8]}****{SECRET_KEY[-4:]}"
    respx.get(f"{BASE}/v1/customers/cus_1").mock(
        return_value=stripe_error(401, "invalid_request_error", None, masked)
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(StripeAuthFailed) as caught:
        await gateway.retrieve_customer("cus_1")

    error = caught.value
    assert error.status == 502 and error.code == "stripe_auth_failed"
    assert "STRIPE_API_KEY" in error.message
    assert SECRET_KEY[-4:] not in error.message and error.__cause__ is None
    assert SECRET_KEY not in caplog.text and masked not in caplog.text


def test_gateway_repr_and_state_hold_no_key_in_the_clear() -> None:
    gw = StripeGateway(GatewayOptions.from_settings(make_settings()))
    assert SECRET_KEY not in repr(gw) and SECRET_KEY not in repr(vars(gw))


@respx.mock
async def test_list_plans_pages_through_and_keeps_active_recurring_prices_of_active_products(
    gateway: StripeGateway,
) -> None:
    product = {"id": "prod_1", "active": True, "name": "API"}
    retired = {"id": "prod_2", "active": False, "name": "Old"}

    def price(pid: str, prod: dict[str, Any]) -> dict[str, Any]:
        return {"id": pid, "active": True, "recurring": {"interval": "month"}, "product": prod}

    route = respx.get(f"{BASE}/v1/prices").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "object": "list",
                    "data": [price("p1", product), price("p2", retired)],
                    "has_more": True,
                },
            ),
            httpx.Response(200, json={"object": "list", "data": [price("p3", product)], "has_more": False}),
        ]
    )

    plans = await gateway.list_plans()

    assert [p["id"] for p in plans] == ["p1", "p3"]
    first, second = (parse_qs(c.request.url.query.decode()) for c in route.calls)
    assert first["active"] == ["true"] and first["type"] == ["recurring"] and first["limit"] == ["100"]
    assert first["expand[0]"] == ["data.product"] and first["expand[1]"] == ["data.tiers"]
    assert "starting_after" not in first and second["starting_after"] == ["p2"]


@respx.mock
async def test_basil_subscription_gets_period_fields_from_its_items() -> None:
    gw = StripeGateway(GatewayOptions.from_settings(make_settings(stripe_api_version="2025-03-31.basil")))
    respx.get(f"{BASE}/v1/subscriptions/sub_1").mock(
        return_value=httpx.Response(
            200,
            json={
                "id": "sub_1",
                "status": "active",
                "items": {"data": [{"id": "si_1", "current_period_start": 100, "current_period_end": 200}]},
            },
        )
    )
    try:
        subscription = await gw.retrieve_subscription("sub_1")
    finally:
        await gw.aclose()

    assert subscription["current_period_start"] == 100 and subscription["current_period_end"] == 200


@respx.mock
async def test_upcoming_invoice_uses_create_preview_from_basil_and_the_upcoming_endpoint_before() -> None:
    preview = respx.post(f"{BASE}/v1/invoices/create_preview").mock(
        return_value=httpx.Response(200, json={"object": "invoice", "amount_due": 1000})
    )
    upcoming = respx.get(f"{BASE}/v1/invoices/upcoming").mock(
        return_value=httpx.Response(200, json={"object": "invoice", "amount_due": 500})
    )
    basil = StripeGateway(GatewayOptions.from_settings(make_settings(stripe_api_version="2025-03-31.basil")))
    legacy = StripeGateway(GatewayOptions.from_settings(make_settings(stripe_api_version="2020-08-27")))
    try:
        assert (await basil.upcoming_invoice("cus_1", "sub_1"))["amount_due"] == 1000
        assert (await legacy.upcoming_invoice("cus_1", "sub_1"))["amount_due"] == 500
    finally:
        await basil.aclose()
        await legacy.aclose()

    assert preview.calls.last.request.headers["Stripe-Version"] == "2025-03-31.basil"
    assert preview.calls.last.request.headers["Idempotency-Key"].startswith("invoice_preview:cus_1:sub_1:")
    assert form(preview.calls.last.request) == {"customer": ["cus_1"], "subscription": ["sub_1"]}
    legacy_request = upcoming.calls.last.request
    assert legacy_request.headers["Stripe-Version"] == "2020-08-27"
    assert parse_qs(legacy_request.url.query.decode()) == {"customer": ["cus_1"], "subscription": ["sub_1"]}


@respx.mock
async def test_raw_post_sends_the_given_idempotency_key_and_refuses_to_post_without_one(
    gateway: StripeGateway,
) -> None:
    route = respx.post(f"{BASE}/v1/subscription_items/si_1/usage_records").mock(
        return_value=httpx.Response(200, json={"id": "mbur_1", "quantity": 5})
    )

    record = await gateway.raw(
        "post", "/v1/subscription_items/si_1/usage_records", {"quantity": 5}, idempotency_key="usage:si_1:h1"
    )

    assert record == {"id": "mbur_1", "quantity": 5}
    assert route.calls.last.request.headers["Idempotency-Key"] == "usage:si_1:h1"
    assert form(route.calls.last.request) == {"quantity": ["5"]}
    with pytest.raises(ValueError, match="idempotency key"):
        await gateway.raw("post", "/v1/subscription_items/si_1/usage_records", {"quantity": 1})


@respx.mock
async def test_billing_portal_session_key_is_deterministic_within_a_minute(gateway: StripeGateway) -> None:
    route = respx.post(f"{BASE}/v1/billing_portal/sessions").mock(
        return_value=httpx.Response(200, json={"id": "bps_1", "url": "http://portal.stripe/bps_1"})
    )

    await gateway.create_billing_portal_session("cus_1", "http://portal/dashboard")
    await gateway.create_billing_portal_session("cus_1", "http://portal/dashboard")

    first, second = (c.request.headers["Idempotency-Key"] for c in route.calls)
    assert first.startswith("billing_portal:cus_1:") and (first == second or time.time() % 60 < 1)


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_construct_event_accepts_a_valid_signature() -> None:
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "customer.created", "data": {}}).encode()

    event = construct_event(payload, sign(payload), [WEBHOOK_SECRET])

    assert event["id"] == "evt_1" and event["type"] == "customer.created"


def test_construct_event_accepts_any_of_the_secrets_in_force() -> None:
    payload = b'{"id": "evt_2", "object": "event", "type": "x"}'
    both = ["whsec_new_after_rotation", WEBHOOK_SECRET]

    assert construct_event(payload, sign(payload), both)["id"] == "evt_2"
    assert construct_event(payload, sign(payload, secret="whsec_new_after_rotation"), both)["id"] == "evt_2"
    with pytest.raises(WebhookSignatureInvalid):
        construct_event(payload, sign(payload), ["whsec_new_after_rotation"])
    with pytest.raises(WebhookSignatureInvalid):
        construct_event(payload, sign(payload), [])


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"[" * 100_000 + b"]" * 100_000, b"{not json"])
def test_a_correctly_signed_body_that_is_no_event_object_is_a_clear_400(body: bytes) -> None:
    with pytest.raises(PortalError) as caught:
        construct_event(body, sign(body), [WEBHOOK_SECRET])

    assert caught.value.status == 400 and caught.value.code == "invalid_payload"


@pytest.mark.parametrize(
    "header",
    [None, "", "t=1,v1=deadbeef", "garbage"],
    ids=["missing", "empty", "wrong", "garbage"],
)
def test_construct_event_rejects_missing_or_wrong_signatures(header: str | None) -> None:
    payload = b'{"id": "evt_1", "object": "event", "type": "x"}'

    with pytest.raises(WebhookSignatureInvalid) as caught:
        construct_event(payload, header, [WEBHOOK_SECRET])

    assert caught.value.status == 400 and caught.value.code == "invalid_signature"


def test_construct_event_rejects_other_secret_and_stale_timestamp() -> None:
    payload = b'{"id": "evt_1", "object": "event", "type": "x"}'

    with pytest.raises(WebhookSignatureInvalid):
        construct_event(payload, sign(payload, secret="whsec_other"), [WEBHOOK_SECRET])
    with pytest.raises(WebhookSignatureInvalid):
        construct_event(payload, sign(payload, timestamp=int(time.time()) - 3600), [WEBHOOK_SECRET])
