"""HttpPortalApi: bearer token, URLs, the API's error envelope, 404 as "not there yet"."""

from __future__ import annotations

import json

import httpx
import pytest

from my_dev_portal.api_client import ApiError, HttpPortalApi
from tests.portal.api_objects import api_key, user

BASE = "http://api.test"


def client(handler, token: str = "tok_abc") -> HttpPortalApi:
    return HttpPortalApi(BASE, token, transport=httpx.MockTransport(handler))


async def test_bearer_token_and_json_body_are_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "cs_1", "url": "http://checkout.test/cs_1"})

    session = await client(handler).create_checkout_session("price_1")
    assert session.url == "http://checkout.test/cs_1"
    assert seen[0].headers["Authorization"] == "Bearer tok_abc"
    assert seen[0].url == f"{BASE}/v1/checkout/sessions"
    assert json.loads(seen[0].content) == {"price_id": "price_1"}


async def test_error_envelope_becomes_api_error_with_the_apis_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            409, json={"error": {"code": "email_taken", "message": "Email already registered."}}
        )

    with pytest.raises(ApiError) as caught:
        await client(handler, token="").signup("a@example.com", "pw123456")
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        409,
        "email_taken",
        "Email already registered.",
    )


async def test_fastapi_validation_errors_keep_their_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": [{"msg": "value is not a valid email address"}]})

    with pytest.raises(ApiError) as caught:
        await client(handler).login("x", "y")
    assert caught.value.message == "value is not a valid email address"


async def test_non_json_errors_still_say_what_happened() -> None:
    with pytest.raises(ApiError) as caught:
        await client(lambda request: httpx.Response(502, text="<html>bad gateway</html>")).me()
    assert caught.value.message == "The API answered 502 Bad Gateway."


async def test_unreachable_api_is_status_zero() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ApiError) as caught:
        await client(handler).plans()
    assert caught.value.status == 0


async def test_missing_usage_and_invoice_endpoints_read_as_none() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "Not Found"}})

    api = client(handler)
    from datetime import UTC, datetime

    assert await api.usage(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)) is None
    assert await api.upcoming_invoice() is None
    assert await api.subscription() is None


async def test_ids_are_escaped_into_paths() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(200, json=api_key(status="revoked").model_dump(mode="json"))

    await client(handler).revoke_key("key/../1")
    assert seen == ["/v1/keys/key%2F..%2F1"]


async def test_plans_parse_every_pricing_model() -> None:
    plans = {
        "data": [
            {
                "price_id": "price_g",
                "product_id": "prod_1",
                "product_name": "API",
                "product_description": None,
                "nickname": "Metered graduated",
                "currency": "usd",
                "unit_amount": None,
                "billing_scheme": "tiered",
                "tiers": [
                    {"up_to": 1000, "unit_amount": 0, "flat_amount": None},
                    {"up_to": None, "unit_amount": 2, "flat_amount": None},
                ],
                "tiers_mode": "graduated",
                "transform_quantity": None,
                "interval": "month",
                "interval_count": 1,
                "usage_type": "metered",
                "aggregate_usage": "sum",
                "meter": None,
                "something_new": True,
            }
        ]
    }
    [plan] = await client(lambda request: httpx.Response(200, json=plans)).plans()
    assert plan.tiers is not None and plan.tiers[1].up_to is None


async def test_the_browsers_ip_goes_to_the_api_as_x_forwarded_for() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"user": user().model_dump(mode="json"), "token": "t", "expires_at": "2026-12-01T00:00:00Z"}
        return httpx.Response(200, json=body)

    api = HttpPortalApi(BASE, "", client_ip="203.0.113.7", transport=httpx.MockTransport(handler))
    await api.login("a@example.com", "s3cret-pass")
    await api.signup("a@example.com", "s3cret-pass")
    assert [request.headers["X-Forwarded-For"] for request in seen] == ["203.0.113.7", "203.0.113.7"]


async def test_no_x_forwarded_for_without_a_known_client_ip() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=user().model_dump(mode="json"))

    await client(handler).me()
    assert "X-Forwarded-For" not in seen[0].headers


async def test_an_answer_of_another_shape_is_an_api_error_not_a_crash() -> None:
    """The models come from the API's OpenAPI; an API that drifted from them is reported, not raised."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "u1", "email": "a@example.com"})

    with pytest.raises(ApiError) as caught:
        await client(handler).me()
    assert (caught.value.status, caught.value.code) == (502, "unexpected_response")
    assert "(name: Field required)" in caught.value.message
