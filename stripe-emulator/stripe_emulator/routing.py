"""The /v1 route table and the per-request context handed to resource handlers."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stripe_emulator.errors import missing, not_found
from stripe_emulator.render import expand_params, paginate, render
from stripe_emulator.store import Store


@dataclass
class Call:
    """One API request as a handler sees it: decoded params, API version, and the account state."""

    store: Store
    params: dict[str, Any]
    version: str
    base_url: str = ""
    path: dict[str, str] = field(default_factory=dict)

    def now(self) -> int:
        return self.store.clock.now()

    def render(self, obj: dict[str, Any]) -> dict[str, Any]:
        return render(self.store, obj, self.version, expand_params(self.params))

    def page(
        self,
        items: list[dict[str, Any]],
        url: str,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return paginate(self.store, items, self.params, url, self.version, transform)

    def require(self, name: str) -> Any:
        value = self.params.get(name)
        if value is None or value == "":
            raise missing(name)
        return value

    def fetch(self, kind: str, object_id: str, label: str, param: str = "id") -> dict[str, Any]:
        obj = self.store.get(object_id, kind)
        if obj is None:
            raise not_found(label, object_id, param=param)
        return obj


Handler = Callable[[Call], dict[str, Any]]

_STATIC: dict[tuple[str, str], Handler] = {}
_PATTERNS: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``METHOD /v1/...``; ``{name}`` segments become path params."""

    def register(fn: Handler) -> Handler:
        if "{" not in path:
            _STATIC[(method, path)] = fn
        else:
            regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
            _PATTERNS.append((method, re.compile(f"^{regex}$"), fn))
        return fn

    return register


def resolve(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    static = _STATIC.get((method, path))
    if static is not None:
        return static, {}
    for route_method, pattern, fn in _PATTERNS:
        if route_method == method:
            match = pattern.match(path)
            if match:
                return fn, match.groupdict()
    return None
