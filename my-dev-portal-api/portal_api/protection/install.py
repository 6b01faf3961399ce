"""Wiring of the HTTP protections into an app, in the order they must run (outermost first):

security headers -> rate limits -> CSRF -> body size limit -> JSON guard (NUL, depth) -> the app. Headers
wrap everything so refusals carry them too; rate limits refuse floods before anything else is looked at;
the body limit guards every read of the body, including the JSON guard's.
"""

from __future__ import annotations

from fastapi import FastAPI

from portal_api.core.container import Services
from portal_api.protection.body_limit import BodyLimitMiddleware
from portal_api.protection.csrf import CsrfMiddleware, allowed_origins
from portal_api.protection.json_guard import JsonGuardMiddleware
from portal_api.protection.rate_limit import RateLimitMiddleware
from portal_api.protection.security_headers import SecurityHeadersMiddleware


def install_protection(app: FastAPI, services: Services) -> None:
    settings = services.settings
    # Starlette runs the middleware added last first: add from the innermost out.
    app.add_middleware(JsonGuardMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        ingest_body_bytes=settings.usage_max_body_bytes,
    )
    # Settings are checked here, at create_app(), not at the first request when middlewares are built.
    app.add_middleware(
        CsrfMiddleware, allowed=allowed_origins(settings), session_cookie_name=settings.session_cookie_name
    )
    if services.rate_limits is not None:
        app.add_middleware(RateLimitMiddleware, limits=services.rate_limits)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
