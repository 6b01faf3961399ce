"""ASGI middleware adding security headers to every API response (a header the route set itself is kept).

- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`.
- `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` on everything but HTML; the HTML of
  /docs and /redoc gets a policy that lets their scripts and styles load from the CDN FastAPI uses.
- `Strict-Transport-Security` when COOKIE_SECURE is on or API_URL is https (HSTS_MAX_AGE_SECONDS > 0).
- `Cache-Control: no-store` on responses to requests carrying credentials (Authorization, the session cookie,
  a collector token) and to every write (sign-up, login, key and token creation answer with secrets).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from portal_api.config import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Header = tuple[bytes, bytes]

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    b"font-src https://fonts.gstatic.com; connect-src 'self'; worker-src blob:; "
    b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
BASE_HEADERS: tuple[Header, ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
NO_STORE: Header = (b"cache-control", b"no-store")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-moesif-application-id"})


def hsts_header(settings: Settings) -> Header | None:
    https = settings.cookie_secure or settings.api_url.lower().startswith("https://")
    if not https or settings.hsts_max_age_seconds <= 0:
        return None
    return (b"strict-transport-security", f"max-age={settings.hsts_max_age_seconds}".encode())


def json_response_messages(
    status: int, body: dict[str, Any], *, extra_headers: Iterable[Header] = ()
) -> list[Message]:
    """The two ASGI messages of a JSON response; for middlewares that answer before the app runs."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *extra_headers,
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": payload},
    ]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        hsts = hsts_header(settings)
        self.always: tuple[Header, ...] = (*BASE_HEADERS, hsts) if hsts else BASE_HEADERS
        self.session_cookie = settings.session_cookie_name.encode() + b"="

    def _carries_credentials(self, scope: Scope) -> bool:
        for name, value in scope.get("headers") or ():
            if name in CREDENTIAL_HEADERS or (name == b"cookie" and self.session_cookie in value):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["method"] in WRITE_METHODS or self._carries_credentials(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                html = any(
                    name.lower() == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                )
                headers.extend(h for h in self.always if h[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DOCS_CSP if html else API_CSP))
                if no_store and b"cache-control" not in present:
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
