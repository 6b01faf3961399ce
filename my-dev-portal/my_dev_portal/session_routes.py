"""The portal backend's own HTTP routes that set and clear the HttpOnly session cookie, and the browser id.

Installed with `rx.App(api_transformer=...)`: Reflex mounts its backend (and, in prod, the compiled pages)
inside `session_app()`, so these routes answer on the portal's own origin, ahead of the pages.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request, cookie_parser
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from my_dev_portal import routes, session_cookie
from my_dev_portal.session_cookie import (
    BROWSER_COOKIE,
    LEGACY_SESSION_COOKIE,
    SESSION_COOKIE,
    cookie_attributes,
)


def _see_other(location: str) -> RedirectResponse:
    # A 303 answers the GET with a GET elsewhere; nobody may cache a response that sets a session.
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


async def establish(request: Request) -> Response:
    """GET /_session/establish?code=...&next=/path: redeem a hand-off code into the session cookie."""
    next_path = routes.safe_next(request.query_params.get("next"))
    code = request.query_params.get("code", "")
    handoff = await session_cookie.handoffs().take(code) if code else None
    if handoff is None or not handoff.belongs_to(request.cookies.get(BROWSER_COOKIE, "")):
        # Unknown, used, expired, or issued to another browser: the login page says so.
        return _see_other(routes.login_with_next(next_path, signin_failed=True))
    response = _see_other(next_path)
    response.set_cookie(
        SESSION_COOKIE, handoff.token, max_age=handoff.max_age(), samesite="strict", **cookie_attributes()
    )
    return response


async def end(request: Request) -> Response:
    """GET /_session/end?next=/path: clear the session cookie (the state has already told the API)."""
    next_path = routes.safe_next(request.query_params.get("next"), default=routes.LANDING)
    if request.headers.get("sec-fetch-site") == "cross-site":
        # A link on another site must not sign the user out.
        return _see_other(routes.LANDING)
    response = _see_other(next_path)
    response.delete_cookie(SESSION_COOKIE, samesite="strict", **cookie_attributes())
    return response


def _set_cookie_value(key: str, value: str, **options: Any) -> str:
    """A `Set-Cookie` value, formatted as Starlette's responses format theirs."""
    response = Response()
    response.set_cookie(key, value, **options)
    return response.headers["set-cookie"]


class BrowserCookieMiddleware:
    """Gives each browser its BROWSER_COOKIE on the first page it loads; deletes the legacy session cookie.

    Only on page loads (documents): the id must not change while a page's websocket is open, and a
    page's scripts, styles and fonts load in parallel.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        cookies = cookie_parser(request_headers.get("cookie", ""))
        needs_id = BROWSER_COOKIE not in cookies
        has_legacy = LEGACY_SESSION_COOKIE in cookies
        if not (needs_id or has_legacy):
            await self.app(scope, receive, send)
            return
        navigation = request_headers.get("sec-fetch-dest") == "document"

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if navigation or headers.get("content-type", "").startswith("text/html"):
                    if needs_id:
                        browser_id = secrets.token_urlsafe(32)
                        # Lax: arriving from another site (Stripe's return) keeps the id, not a new one.
                        options = cookie_attributes() | {"samesite": "lax"}
                        headers.append("set-cookie", _set_cookie_value(BROWSER_COOKIE, browser_id, **options))
                    if has_legacy:
                        headers.append("set-cookie", _set_cookie_value(LEGACY_SESSION_COOKIE, "", max_age=0))
            await send(message)

        await self.app(scope, receive, send_with_cookies)


def session_app() -> Starlette:
    """The `api_transformer` Reflex mounts its app into: the session routes first, then the pages."""
    return Starlette(
        routes=[
            Route(routes.SESSION_ESTABLISH, establish, methods=["GET"]),
            Route(routes.SESSION_END, end, methods=["GET"]),
        ],
        middleware=[Middleware(BrowserCookieMiddleware)],
    )
