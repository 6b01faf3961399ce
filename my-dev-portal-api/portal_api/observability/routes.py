"""Route templates for metrics and logs: "/v1/keys/{key_id}/rotate", never the raw path of a request."""

from __future__ import annotations

import re
from collections.abc import MutableMapping, Sequence
from typing import Any

from starlette.routing import BaseRoute, compile_path

try:  # FastAPI >= 0.120 keeps included routers lazily; this yields each route with its full path
    from fastapi.routing import iter_route_contexts as _iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI flattens routes into app.routes itself
    _iter_route_contexts = None  # type: ignore[assignment]

UNMATCHED_ROUTE = "unmatched"


def _templates(routes: Sequence[BaseRoute]) -> list[tuple[Any, str]]:
    """(the route object a request's scope["route"] names, its full path template) for every route."""
    if _iter_route_contexts is not None:
        return [
            (context.original_route, context.path_format or UNMATCHED_ROUTE)
            for context in _iter_route_contexts(routes)
        ]
    return [(route, getattr(route, "path_format", None) or UNMATCHED_ROUTE) for route in routes]


class RouteTemplates:
    """Built on first use, when every router is included. scope["route"] is the route as declared in its
    APIRouter ("/keys/{key_id}"), so it is mapped to the full template; requests no route handled (404,
    405, refused by a middleware) get the template their path matches, else "unmatched" (raw paths would
    let clients create unbounded metric labels)."""

    def __init__(self) -> None:
        self._by_route: dict[int, str] | None = None
        self._patterns: list[tuple[re.Pattern[str], str]] = []

    def _build(self, app: Any) -> dict[int, str]:
        by_route: dict[int, str] = {}
        for route, template in _templates(getattr(app, "routes", ())):
            by_route[id(route)] = template
            if template != UNMATCHED_ROUTE:
                self._patterns.append((compile_path(template)[0], template))
        self._by_route = by_route
        return by_route

    def of(self, scope: MutableMapping[str, Any]) -> str:
        by_route = self._by_route if self._by_route is not None else self._build(scope.get("app"))
        route = scope.get("route")
        if route is not None:
            return by_route.get(id(route)) or getattr(route, "path_format", None) or UNMATCHED_ROUTE
        path: str = scope.get("path", "")
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return UNMATCHED_ROUTE
