"""The authorization table: every route of the API (method + full path template), who may call it, and for
routes taking a path id, which object the id names (tests/api/authz/objects.py makes one).

A route missing here fails tests/api/authz/test_route_table.py: add a row (and, for a path id, an object
kind) when you add a route, so its access rules are tested from day one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from fastapi import FastAPI

try:  # FastAPI >= 0.120 keeps included routers lazily; this yields each route with its full path
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI flattens routes into app.routes itself
    iter_route_contexts = None  # type: ignore[assignment]


class Access(Enum):
    PUBLIC = "public"  # anyone (the route may still check its own inputs)
    OWN_TOKEN = "own token"  # no portal session; the route checks a credential of its own (see `note`)
    USER = "user"  # a signed-in user (session token); anonymous -> 401
    ADMIN = "admin"  # an admin user or admin API token; anonymous -> 401, signed-in non-admin -> 403
    # A signed-in admin user only: admin API tokens cannot mint or revoke credentials (-> 401).
    ADMIN_USER = "admin user"
    ADMIN_API_TOKEN = "admin API token"  # only an admin API token (gateways, ingest); sessions -> 401


@dataclass(frozen=True)
class Route:
    access: Access
    # The kind of object the path id names (objects.py), for routes with one.
    owns: str | None = None
    # A body a real caller would send, so a missing check would actually change something.
    body: dict[str, Any] | None = None
    # OWN_TOKEN routes: what an anonymous caller gets.
    anonymous_status: int = 401
    note: str = ""
    # ADMIN_API_TOKEN routes: the token scope they need (ADMIN routes need `admin`).
    scope: str | None = None


ROUTES: dict[tuple[str, str], Route] = {
    # -- public -----------------------------------------------------------------------------------------
    ("GET", "/healthz"): Route(Access.PUBLIC),
    ("GET", "/openapi.json"): Route(Access.PUBLIC),
    ("GET", "/docs"): Route(Access.PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Route(Access.PUBLIC),
    ("GET", "/redoc"): Route(Access.PUBLIC),
    ("GET", "/v1/plans"): Route(Access.PUBLIC),
    ("POST", "/v1/auth/signup"): Route(Access.PUBLIC),
    ("POST", "/v1/auth/login"): Route(Access.PUBLIC),
    # -- own credentials --------------------------------------------------------------------------------
    ("GET", "/metrics"): Route(Access.OWN_TOKEN, note="Bearer METRICS_TOKEN when set"),
    ("POST", "/v1/webhooks/stripe"): Route(
        Access.OWN_TOKEN, anonymous_status=400, note="Stripe-Signature with STRIPE_WEBHOOK_SECRET"
    ),
    ("POST", "/collector/v1/events"): Route(Access.OWN_TOKEN, note="collector token"),
    ("POST", "/collector/v1/events/batch"): Route(Access.OWN_TOKEN, note="collector token"),
    ("GET", "/collector/v1/config"): Route(Access.OWN_TOKEN, note="collector token"),
    ("GET", "/collector/v1/rules"): Route(Access.OWN_TOKEN, note="collector token"),
    ("POST", "/collector/v1/users"): Route(Access.OWN_TOKEN, note="collector token"),
    ("POST", "/collector/v1/users/batch"): Route(Access.OWN_TOKEN, note="collector token"),
    ("POST", "/collector/v1/companies"): Route(Access.OWN_TOKEN, note="collector token"),
    ("POST", "/collector/v1/companies/batch"): Route(Access.OWN_TOKEN, note="collector token"),
    # -- signed-in users: their own things only --------------------------------------------------------
    ("POST", "/v1/auth/logout"): Route(Access.USER),
    ("GET", "/v1/me"): Route(Access.USER),
    ("GET", "/v1/keys"): Route(Access.USER),
    ("POST", "/v1/keys"): Route(Access.USER),
    ("POST", "/v1/keys/{key_id}/rotate"): Route(Access.USER, owns="key"),
    ("DELETE", "/v1/keys/{key_id}"): Route(Access.USER, owns="key"),
    ("POST", "/v1/checkout/sessions"): Route(Access.USER),
    ("POST", "/v1/checkout/sessions/{checkout_session_id}/complete"): Route(
        Access.USER, owns="checkout_session"
    ),
    ("GET", "/v1/subscription"): Route(Access.USER),
    ("POST", "/v1/subscription/change/preview"): Route(Access.USER, body={"price_id": "price_other"}),
    ("POST", "/v1/subscription/change"): Route(Access.USER, body={"price_id": "price_other"}),
    ("POST", "/v1/subscription/cancel"): Route(Access.USER),
    ("POST", "/v1/subscription/resume"): Route(Access.USER),
    ("POST", "/v1/billing-portal"): Route(Access.USER),
    ("GET", "/v1/usage"): Route(Access.USER),
    ("GET", "/v1/invoices/upcoming"): Route(Access.USER),
    # -- admin API token only --------------------------------------------------------------------------
    ("POST", "/v1/keys/verify"): Route(Access.ADMIN_API_TOKEN, scope="verify"),
    ("POST", "/v1/usage/events"): Route(Access.ADMIN_API_TOKEN, scope="ingest"),
    # -- provider admins ------------------------------------------------------------------------------
    ("GET", "/v1/admin/health"): Route(Access.ADMIN),
    ("POST", "/v1/admin/tokens"): Route(Access.ADMIN_USER, body={"name": "sneaky"}),
    ("GET", "/v1/admin/tokens"): Route(Access.ADMIN_USER),
    ("PATCH", "/v1/admin/tokens/{token_id}"): Route(
        Access.ADMIN_USER, owns="admin_token", body={"scopes": ["admin", "verify", "ingest"]}
    ),
    ("DELETE", "/v1/admin/tokens/{token_id}"): Route(Access.ADMIN_USER, owns="admin_token"),
    ("POST", "/v1/admin/collector-tokens"): Route(Access.ADMIN_USER, body={"name": "sneaky"}),
    ("GET", "/v1/admin/collector-tokens"): Route(Access.ADMIN_USER),
    ("DELETE", "/v1/admin/collector-tokens/{token_id}"): Route(Access.ADMIN_USER, owns="collector_token"),
    ("GET", "/v1/admin/meters"): Route(Access.ADMIN),
    ("GET", "/v1/admin/meters/coverage"): Route(Access.ADMIN),
    ("POST", "/v1/admin/meters"): Route(Access.ADMIN),
    ("GET", "/v1/admin/meters/{meter_id}"): Route(Access.ADMIN, owns="meter"),
    ("PATCH", "/v1/admin/meters/{meter_id}"): Route(
        Access.ADMIN, owns="meter", body={"name": "hijacked", "active": False}
    ),
    ("DELETE", "/v1/admin/meters/{meter_id}"): Route(Access.ADMIN, owns="meter"),
    ("POST", "/v1/admin/meters/{meter_id}/test"): Route(Access.ADMIN, owns="meter"),
    ("GET", "/v1/admin/meters/{meter_id}/test-event"): Route(Access.ADMIN, owns="meter"),
    ("GET", "/v1/admin/billing-provider"): Route(Access.ADMIN),
    ("PUT", "/v1/admin/billing-provider"): Route(Access.ADMIN),
    ("GET", "/v1/admin/customers"): Route(Access.ADMIN),
    ("GET", "/v1/admin/customers/{user_id}"): Route(Access.ADMIN, owns="customer"),
    ("GET", "/v1/admin/report-runs"): Route(Access.ADMIN),
    ("POST", "/v1/admin/report-runs"): Route(Access.ADMIN, body={}),
    ("GET", "/v1/admin/reconciliation-runs"): Route(Access.ADMIN),
    ("POST", "/v1/admin/reconciliation-runs"): Route(Access.ADMIN),
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, full path template) of every route the app serves; HEAD only where it is not GET's twin."""
    if iter_route_contexts is not None:
        pairs = [(c.original_route, c.path_format) for c in iter_route_contexts(app.routes)]
    else:  # pragma: no cover
        pairs = [(r, getattr(r, "path_format", "")) for r in app.routes]
    found: set[tuple[str, str]] = set()
    for route, template in pairs:
        methods = set(getattr(route, "methods", None) or ())
        if "GET" in methods:
            methods.discard("HEAD")
        found.update((method, template) for method in methods)
    return found


def concrete(template: str, object_id: str = "authz_probe_0000") -> str:
    """The template with every path parameter filled in."""
    parts = [object_id if p.startswith("{") and p.endswith("}") else p for p in template.split("/")]
    return "/".join(parts)


def routes_with(*access: Access) -> list[tuple[str, str]]:
    return sorted(key for key, route in ROUTES.items() if route.access in access)


def owned_routes() -> list[tuple[str, str]]:
    return sorted(key for key, route in ROUTES.items() if route.owns is not None)
