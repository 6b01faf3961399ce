"""ASGI middleware adding security headers (CSP, nosniff, framing, referrer, HSTS) to portal responses."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from my_dev_portal.config import get_settings

# What the app needs: Reflex's inline hydration scripts and styles, its state websocket on its own host,
# and Stripe's pricing table (a script from js.stripe.com that opens frames on Stripe's hosts).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://js.stripe.com",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https:",
        "font-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "frame-src https://js.stripe.com https://*.stripe.com",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)
# One year; sent only when the portal is served over https (browsers ignore it over http anyway).
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(*, https: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response gets; HSTS only when the portal's public URL is https."""
    headers = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeadersMiddleware:
    """Adds `security_headers` to each HTTP response, keeping any header of the same name the app set."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self._headers = security_headers(https=https)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in self._headers if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_security_headers(app: ASGIApp) -> ASGIApp:
    """The `rx.App(api_transformer=...)` hook: wraps the pages and the Reflex backend alike."""
    return SecurityHeadersMiddleware(app, https=get_settings().PORTAL_URL.lower().startswith("https://"))
