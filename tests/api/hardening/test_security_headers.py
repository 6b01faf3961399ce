"""Security headers on every API response; no-store on credentialed and secret-bearing ones; HSTS on https."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from portal_api.config import Settings
from tests.fixtures.database import running_app
from tests.fixtures.members import ADMIN, sign_up

STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"


def assert_base_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_json_responses_success_or_error_get_the_strict_headers(api: httpx.AsyncClient) -> None:
    for response in (
        await api.get("/healthz"),
        await api.get("/v1/me"),  # 401 from the error handler
        await api.get("/nowhere"),  # 404 from the router
        await api.post("/v1/auth/login", content=b"x" * (2 * 1024 * 1024)),  # 413 from a middleware
    ):
        assert_base_headers(response)
        assert response.headers["content-security-policy"] == STRICT_CSP
        assert "strict-transport-security" not in response.headers  # plain http settings


async def test_secret_bearing_and_credentialed_responses_are_not_stored(api: httpx.AsyncClient) -> None:
    signup = await api.post("/v1/auth/signup", json={"email": "a@example.com", "password": "x" * 12})
    api.cookies.clear()
    member = await sign_up(api, "b@example.com")
    created = await api.post("/v1/keys", json={"name": "k"}, headers=member.headers)
    listed = await api.get("/v1/keys", headers=member.headers)
    token_call = await api.get("/v1/admin/tokens", headers=ADMIN)
    anonymous_read = await api.get("/healthz")

    for response in (signup, created, listed, token_call):
        assert response.headers["cache-control"] == "no-store", response.request.url
    assert "cache-control" not in anonymous_read.headers


async def test_docs_get_a_csp_that_lets_them_load(api: httpx.AsyncClient) -> None:
    docs = await api.get("/docs")

    assert docs.status_code == 200
    csp = docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "https://cdn.jsdelivr.net" in csp
    assert_base_headers(docs)


async def test_hsts_is_sent_when_the_api_is_served_over_https(
    settings_factory: Callable[..., Settings],
) -> None:
    for overrides in ({"cookie_secure": True}, {"api_url": "https://api.example.com"}):
        async with (
            running_app(settings_factory(**overrides)) as app,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
        ):
            response = await client.get("/healthz")
        assert response.headers["strict-transport-security"] == "max-age=31536000"
