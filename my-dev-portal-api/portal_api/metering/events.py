"""The normalized usage event every source is turned into, and the view filters and metrics read."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Header values that identify or authenticate a caller are never stored as sent.
SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "x-api-key", "x-moesif-application-id", "proxy-authorization"}
)
REDACTED = "[redacted]"
# The source of the Meter Test's synthetic events, the only ones billed to its system customer.
METER_TEST_SOURCE = "meter_test"


@dataclass(slots=True)
class EventView:
    """What filters and metrics see of an event (headers keyed in lower case)."""

    route: str
    method: str
    status: int | None
    external_user_id: str | None
    portal_user_id: str | None
    company_id: str | None
    weight: int
    request_headers: dict[str, Any]
    response_headers: dict[str, Any]
    metadata: dict[str, Any]
    session_key: str | None = None
    api_key_id: str | None = None


@dataclass(slots=True)
class NormalizedEvent:
    """An event that passed validation, before attribution and storage."""

    index: int
    dedupe_key: str
    source: str
    occurred_at: datetime
    method: str
    route: str
    status: int | None
    weight: int
    external_user_id: str | None
    company_id: str | None
    session_key: str | None
    api_key_secret: str | None
    request_headers: dict[str, Any]
    response_headers: dict[str, Any]
    metadata: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    # Set by attribution.
    user_id: str | None = None
    attributed_by: str | None = None
    api_key_id: str | None = None

    def view(self) -> EventView:
        return EventView(
            route=self.route,
            method=self.method,
            status=self.status,
            external_user_id=self.external_user_id,
            portal_user_id=self.user_id,
            company_id=self.company_id,
            weight=self.weight,
            request_headers=self.request_headers,
            response_headers=self.response_headers,
            metadata=self.metadata,
            session_key=self.session_key,
            api_key_id=self.api_key_id,
        )

    def payload_json(self) -> str:
        body: dict[str, Any] = {}
        if self.request_headers:
            body["request_headers"] = self.request_headers
        if self.response_headers:
            body["response_headers"] = self.response_headers
        if self.metadata:
            body["metadata"] = self.metadata
        if self.extra:
            body.update(self.extra)
        return json.dumps(body, separators=(",", ":"), default=str) if body else "{}"


def view_from_row(row: Any) -> EventView:
    """Rebuild the filter view from a stored `usage_events` row (for rollup rebuilds)."""
    payload = json.loads(row.payload) if row.payload else {}
    return EventView(
        route=row.route,
        method=row.method,
        status=row.status,
        external_user_id=row.external_user_id,
        portal_user_id=row.user_id,
        company_id=row.company_id,
        weight=row.weight,
        request_headers=payload.get("request_headers") or {},
        response_headers=payload.get("response_headers") or {},
        metadata=payload.get("metadata") or {},
        session_key=row.session_key,
        api_key_id=row.api_key_id,
    )


def route_of(uri: str) -> str:
    """The path of a full URI or a path, without query and without a trailing slash (except "/")."""
    if uri.startswith("/") and not uri.startswith("//"):
        path = uri
    else:
        # scheme://host[:port]/path or //host/path; a bare "host/path" is taken as a path.
        rest = uri.split("://", 1)[1] if "://" in uri else uri[2:] if uri.startswith("//") else "/" + uri
        slash = rest.find("/")
        path = rest[slash:] if slash >= 0 else "/"
    for mark in ("?", "#"):
        cut = path.find(mark)
        if cut >= 0:
            path = path[:cut]
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path or "/"


def lower_headers(headers: Any) -> dict[str, Any]:
    """Headers keyed in lower case; non-dict input gives {}."""
    if not isinstance(headers, dict):
        return {}
    return {str(name).lower(): value for name, value in headers.items()}


def redact_headers(headers: dict[str, Any], key_header: str) -> dict[str, Any]:
    """Lower-cased headers with credentials replaced, so no API key or token is ever stored."""
    secret = key_header.lower()
    return {
        name: REDACTED if name in SECRET_HEADERS or name == secret else value
        for name, value in headers.items()
    }


def api_key_in(headers: dict[str, Any], key_header: str) -> str | None:
    """The customer API key in lower-cased headers: the key header or `Authorization: Bearer mdp_...`."""
    value = headers.get(key_header.lower())
    if isinstance(value, str) and value.strip():
        return value.strip()
    auth = headers.get("authorization")
    if isinstance(auth, str):
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if (
            scheme.lower() == "bearer"
            and token.startswith("mdp_")
            and not token.startswith(NOT_CUSTOMER_KEYS)
        ):
            return token
    return None


NOT_CUSTOMER_KEYS = ("mdp_admin_", "mdp_col_")


def digest(value: str) -> str:
    """A short stable digest for distinct-value tracking and session tokens (32 hex chars)."""
    return hashlib.blake2b(value.encode(), digest_size=16).hexdigest()
