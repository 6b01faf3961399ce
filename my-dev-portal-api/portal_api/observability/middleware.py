"""ASGI middleware giving each request an id, a logging context, an access log line and a latency sample.

- Request id: a sane incoming `X-Request-ID` (1-128 of `A-Z a-z 0-9 . _ : -`) is kept, anything else is
  replaced by a fresh one; it is returned in the `X-Request-ID` response header and bound with structlog
  contextvars, so every line logged while the request is handled (by structlog or stdlib logging) has it.
- Access log: one `http_request` line per request with method, route template (never the raw path nor its
  query string), status, duration in ms and client address; never headers, cookies or bodies.
- Metrics: `http_request_duration_seconds{method,route,status}` on the app's PortalMetrics.
- An exception escaping the app is logged here (with the request id) and answered with the JSON 500 body
  when no response has started; it is then re-raised so servers and test clients still see it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

from portal_api.core import metrics as metrics_module
from portal_api.core.metrics import PortalMetrics
from portal_api.errors import error_body
from portal_api.observability.routes import RouteTemplates
from portal_api.protection.client_ip import ClientAddresses
from portal_api.protection.security_headers import API_CSP, BASE_HEADERS, NO_STORE, json_response_messages

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = b"x-request-id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
ERROR_LOGGED_SCOPE_KEY = "portal.error_logged"

log = structlog.get_logger("portal_api.access")
error_log = structlog.get_logger("portal_api.errors")


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            if SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class ObservabilityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: PortalMetrics,
        client_addresses: ClientAddresses,
        access_log: bool = True,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.client_addresses = client_addresses
        self.access_log = access_log
        self.route_templates = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        scope["portal.request_id"] = request_id
        header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        metrics_token = metrics_module.enter_request(self.metrics)
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                error_log.exception("unhandled_error", error_type=type(exc).__name__)
                scope[ERROR_LOGGED_SCOPE_KEY] = True  # the app's 500 handler runs next: no second log line
                if not response_started:
                    body = error_body("internal_error", "Something went wrong on our side")
                    headers = [header, *BASE_HEADERS, (b"content-security-policy", API_CSP), NO_STORE]
                    for message in json_response_messages(500, body, extra_headers=headers):
                        await send(message)
                raise
            finally:
                seconds = time.perf_counter() - started
                route = self.route_templates.of(scope)
                self.metrics.observe_request(scope["method"], route, status, seconds)
                if self.access_log:
                    log.info(
                        "http_request",
                        method=scope["method"],
                        route=route,
                        status=status,
                        duration_ms=round(seconds * 1000, 3),
                        client_ip=self.client_addresses.of(scope),
                    )
                metrics_module.leave_request(metrics_token)
