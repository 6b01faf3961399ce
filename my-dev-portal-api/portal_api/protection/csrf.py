"""ASGI middleware against cross-site request forgery on cookie-authenticated writes (Origin checking).

The scheme:
- The session cookie is HttpOnly and SameSite=Lax, which already keeps it off most cross-site POSTs; this
  check is the second wall (older browsers, same-site subdomains, top-level form posts racing Lax rules).
- A write (POST, PUT, PATCH, DELETE) that carries the session cookie and no `Authorization` header is
  authenticated by the cookie, so it must prove it comes from one of our pages: its `Origin` header (or,
  when a browser sends none, its `Referer`) must be an allowed origin - PORTAL_URL, API_URL or one of
  CSRF_TRUSTED_ORIGINS (scheme, host and port compared exactly). Otherwise: 403 `csrf_failed`.
- A request with an `Authorization: Bearer <token>` header is authenticated by that token (a session token
  or an admin token) and never by the cookie (accounts/deps.py ignores the cookie whenever an Authorization
  header is present), and a cross-site page cannot add that header (the API allows no cross-origin requests
  with credentials), so it passes; so do requests without the session cookie (scripts, servers). Any other
  Authorization scheme (`Basic ...`) authenticates nothing here, so the cookie rules apply to it.
- Login and sign-up create a session, so they are checked too whenever they carry an Origin (or Referer)
  header, cookie or not: a foreign page cannot log a visitor into an account of the attacker's choosing.
- Stripe webhooks and the Moesif collector authenticate with signatures and tokens and are exempt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from portal_api.config import Settings
from portal_api.errors import error_body
from portal_api.protection.security_headers import json_response_messages

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_STARTING_PATHS = frozenset({"/v1/auth/login", "/v1/auth/signup"})
EXEMPT_PATHS = frozenset({"/v1/webhooks/stripe"})
EXEMPT_PREFIXES = ("/collector/",)
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """`scheme://host[:port]` in lower case with the default port dropped; None when `value` is no URL."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def allowed_origins(settings: Settings) -> frozenset[str]:
    candidates: Iterable[str] = (settings.portal_url, settings.api_url, *settings.csrf_trusted_origins)
    found = set()
    for candidate in candidates:
        origin = normalize_origin(candidate)
        if origin is None:
            raise ValueError(f"CSRF origin {candidate!r} is not an http(s) URL")
        found.add(origin)
    return frozenset(found)


class CsrfMiddleware:
    def __init__(self, app: ASGIApp, *, allowed: frozenset[str], session_cookie_name: str) -> None:
        self.app = app
        self.allowed = allowed
        self.session_cookie = session_cookie_name.encode() + b"="

    def _refusal(self, scope: Scope) -> str | None:
        """Why this request must be refused, or None when it may go on."""
        path: str = scope["path"]
        if path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            return None
        origin = referer = None
        has_bearer = has_session_cookie = False
        for name, value in scope.get("headers") or ():
            if name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"referer":
                referer = value.decode("latin-1")
            elif name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                has_bearer = scheme.lower() == "bearer" and bool(token.strip())
            elif name == b"cookie" and self.session_cookie in value:
                has_session_cookie = True
        source = origin if origin is not None else referer
        if path in SESSION_STARTING_PATHS:
            # Checked whenever a browser says where it comes from; without it (scripts), the cookie a
            # login replaces proves nothing either way.
            if source is None or normalize_origin(source) in self.allowed:
                return None
            return "this page's origin is not allowed"
        if has_bearer or not has_session_cookie:
            return None
        if source is None:
            return "the request has neither an Origin nor a Referer header"
        return None if normalize_origin(source) in self.allowed else "this page's origin is not allowed"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in WRITE_METHODS:
            reason = self._refusal(scope)
            if reason is not None:
                body = error_body(
                    "csrf_failed", f"Cross-site request refused: {reason} (use a Bearer token from scripts)"
                )
                for message in json_response_messages(403, body):
                    await send(message)
                return
        await self.app(scope, receive, send)
