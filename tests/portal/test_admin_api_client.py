"""HttpPortalApi's admin calls: URLs, bodies, the API's shapes (Meter Test's "pass", Decimals as strings)."""

from __future__ import annotations

import json

import httpx
import pytest

from my_dev_portal.api_client import MAX_CUSTOMERS, ApiError, HttpPortalApi
from tests.portal.api_objects import admin_token, report_run

BASE = "http://api.test"


def client(handler) -> HttpPortalApi:
    return HttpPortalApi(BASE, "tok_admin", transport=httpx.MockTransport(handler))


async def test_filter_error_keeps_the_path_of_the_rejected_node() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {
            "code": "invalid_filter",
            "message": "filters.and[0].value: route value must be a path",
            "details": {"path": "filters.and[0].value"},
        }
        return httpx.Response(422, json={"error": error})

    with pytest.raises(ApiError) as caught:
        await client(handler).create_meter({"name": "x", "stripe_price_id": "price_1"})
    assert (caught.value.code, caught.value.path) == ("invalid_filter", "filters.and[0].value")


async def test_meter_test_reads_pass_and_string_quantities() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "pass": True,
                "reason": None,
                "meter_id": "mtr_1",
                "price_id": "price_1",
                "api_version": "2020-08-27",
                "mode": "test",
                "currency": "usd",
                "ours": {"usage_quantity": "1500.5", "reported_quantity": "1500", "amount": 1000},
                "stripe": {"quantity": "1500", "amount": 1000, "amount_due": 1000},
                "difference": 0,
                "checks": [{"name": "price", "ok": True, "detail": "metered"}],
            },
        )

    result = await client(handler).test_meter("mtr/1")
    await client(handler).test_meter("mtr_1", {"route": "/v1/search"})
    assert seen[0].method == "POST" and seen[0].url.raw_path == b"/v1/admin/meters/mtr%2F1/test"
    assert json.loads(seen[0].content) == {}
    assert json.loads(seen[1].content) == {"event": {"route": "/v1/search"}}
    # Decimals stay the strings the API sends; the page formats them (prices.format_count).
    assert result.passed and result.ours and result.ours.usage_quantity == "1500.5"
    assert result.stripe and result.stripe.quantity == "1500"


async def test_meter_test_event_is_read_from_its_route() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.raw_path) == ("GET", b"/v1/admin/meters/mtr%2F1/test-event")
        return httpx.Response(200, json={"meter_id": "mtr/1", "event": None, "reason": "route is /a and /b"})

    prepared = await client(handler).meter_test_event("mtr/1")

    assert prepared.event is None and prepared.reason == "route is /a and /b"


async def test_report_now_posts_and_reads_the_run() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=report_run(kind="manual", sent=4, planned=4))

    run = await client(handler).report_now()
    await client(handler).report_now("mtr_1")

    assert (seen[0].method, seen[0].url.path) == ("POST", "/v1/admin/report-runs")
    assert json.loads(seen[0].content) == {} and json.loads(seen[1].content) == {"meter_id": "mtr_1"}
    assert (run.kind, run.sent) == ("manual", 4)


async def test_customers_ask_for_a_full_page_and_report_the_total() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["limit"] == str(MAX_CUSTOMERS)
        return httpx.Response(200, json={"data": [], "total": 321, "limit": MAX_CUSTOMERS, "offset": 0})

    assert (await client(handler).customers()).total == 321


async def test_billing_provider_update_is_a_put_of_the_changes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("PUT", "/v1/admin/billing-provider")
        assert json.loads(request.content) == {"api_version": "2025-03-31.basil"}
        return httpx.Response(
            200,
            json={
                "provider": "stripe",
                "source": "database",
                "secret_key_set": True,
                "secret_key_last4": "abcd",
                "mode": "test",
                "publishable_key": None,
                "api_version": "2025-03-31.basil",
                "reporting": "billing_meters",
                "webhook": {
                    "url": "http://api.test/v1/webhooks/stripe",
                    "signing_secret_set": False,
                    "last_received_at": None,
                    "received_last_24h": 0,
                    "arriving": False,
                },
                "updated_at": "2026-11-24T18:00:00Z",
                "updated_by": "grace@example.com",
            },
        )

    provider = await client(handler).update_billing_provider({"api_version": "2025-03-31.basil"})
    assert provider.reporting == "billing_meters" and provider.webhook and not provider.webhook.arriving


async def test_revoking_a_collector_token_accepts_no_content() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("DELETE", "/v1/admin/collector-tokens/ct_1")
        return httpx.Response(204)

    await client(handler).revoke_collector_token("ct_1")


def _token(**fields: object) -> dict[str, object]:
    return admin_token(**fields).model_dump(mode="json")


async def test_a_new_admin_token_is_asked_for_with_its_scopes() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json=_token(scopes=["admin"]) | {"token": "mdp_admin_secret"})

    created = await client(handler).create_admin_token("console-bot", ["admin"])
    await client(handler).create_admin_token("gateway")
    assert [(r.method, r.url.path) for r in sent] == [("POST", "/v1/admin/tokens")] * 2
    assert [json.loads(r.content) for r in sent] == [
        {"name": "console-bot", "scopes": ["admin"]},
        {"name": "gateway"},
    ]
    assert (created.scopes, created.token) == (["admin"], "mdp_admin_secret")


async def test_changing_a_tokens_scopes_is_a_patch_of_the_scopes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.raw_path) == ("PATCH", b"/v1/admin/tokens/adm%2F1")
        assert json.loads(request.content) == {"scopes": ["verify"]}
        return httpx.Response(200, json=_token(id="adm/1", scopes=["verify"]))

    token = await client(handler).update_admin_token_scopes("adm/1", ["verify"])
    assert (token.id, token.scopes) == ("adm/1", ["verify"])
