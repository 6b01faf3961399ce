"""Security headers: the middleware adds them to every HTTP response, and the Reflex app is wrapped in it."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from my_dev_portal import security_headers
from my_dev_portal.config import get_settings
from my_dev_portal.security_headers import SecurityHeadersMiddleware, with_security_headers


def _inner() -> Starlette:
    async def page(request):
        return PlainTextResponse("hello")

    async def framed(request):
        return PlainTextResponse("own", headers={"X-Frame-Options": "SAMEORIGIN"})

    return Starlette(routes=[Route("/", page), Route("/framed", framed)])


async def _get(app, path: str = "/") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        return await client.get(path)


async def test_every_response_gets_the_security_headers() -> None:
    response = await _get(SecurityHeadersMiddleware(_inner(), https=False))
    assert response.text == "hello"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://js.stripe.com",
        "connect-src 'self' ws: wss:",
        "frame-src https://js.stripe.com https://*.stripe.com",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ):
        assert directive in csp
    assert "Strict-Transport-Security" not in response.headers


async def test_hsts_only_when_the_portal_is_https(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_URL", "https://portal.example.com")
    get_settings.cache_clear()
    response = await _get(with_security_headers(_inner()))
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


async def test_a_header_the_app_set_itself_is_kept() -> None:
    response = await _get(SecurityHeadersMiddleware(_inner(), https=False), "/framed")
    assert response.headers.get_list("X-Frame-Options") == ["SAMEORIGIN"]


def test_the_reflex_app_is_wrapped_in_the_middleware() -> None:
    from my_dev_portal.my_dev_portal import app

    # Reflex applies them in order: the session routes take the app in, the headers wrap all of it
    # (test_session_routes.py checks the routes' responses).
    assert isinstance(app.api_transformer, list)
    session_routes, headers = app.api_transformer
    assert isinstance(session_routes, Starlette)
    assert {route.path for route in session_routes.routes} >= {"/_session/establish", "/_session/end"}
    assert headers is security_headers.with_security_headers
