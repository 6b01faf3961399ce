"""Turn stored objects into API responses: per-version shapes, ``expand[]`` and list pagination."""

from collections.abc import Callable, Iterable
from typing import Any

from stripe_emulator.errors import invalid, not_found
from stripe_emulator.forms import as_int
from stripe_emulator.store import Store, clone

Renderer = Callable[[Store, dict[str, Any], str], dict[str, Any]]
Expander = Callable[[Store, dict[str, Any], str], Any]

# object type -> function giving the public shape for an API version
RENDERERS: dict[str, Renderer] = {}
# (object type, field) -> value for fields only present when expanded (price.tiers, session.line_items)
EXPANDERS: dict[tuple[str, str], Expander] = {}
# object type -> function giving an event's `previous_attributes` in an API version's shapes
PREVIOUS_RENDERERS: dict[str, Renderer] = {}


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        RENDERERS[kind] = fn
        return fn

    return register


def previous_renderer(kind: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        PREVIOUS_RENDERERS[kind] = fn
        return fn

    return register


def expander(kind: str, field: str) -> Callable[[Expander], Expander]:
    def register(fn: Expander) -> Expander:
        EXPANDERS[(kind, field)] = fn
        return fn

    return register


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy without the emulator's private ``_`` fields."""
    return {k: clone(v) for k, v in obj.items() if not k.startswith("_")}


def render(store: Store, obj: dict[str, Any], version: str, expand: Iterable[str] = ()) -> dict[str, Any]:
    fn = RENDERERS.get(obj.get("object", ""))
    out = fn(store, obj, version) if fn else public(obj)
    for path in expand:
        expand_path(store, out, path.split("."), version)
    return out


def expand_path(store: Store, out: dict[str, Any], parts: list[str], version: str) -> None:
    head, rest = parts[0], parts[1:]
    kind = out.get("object", "")
    if (kind, head) in EXPANDERS and head not in out:
        internal = store.get(out.get("id", "")) or out
        out[head] = EXPANDERS[(kind, head)](store, internal, version)
    if head not in out:
        return
    value = out[head]
    if isinstance(value, str):
        target = store.get(value)
        if target is None:
            return
        value = out[head] = render(store, target, version)
    if not rest:
        return
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            expand_path(store, item, rest, version)


def expand_params(params: dict[str, Any]) -> list[str]:
    value = params.get("expand") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def list_object(data: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def paginate(
    store: Store,
    items: list[dict[str, Any]],
    params: dict[str, Any],
    url: str,
    version: str,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Stripe list semantics over ``items`` (already newest first): limit, starting_after, ending_before."""
    limit = as_int(params.get("limit", 10), "limit")
    if not 1 <= limit <= 100:
        raise invalid("Invalid limit: must be between 1 and 100", param="limit")
    ids = [item["id"] for item in items]
    if params.get("starting_after"):
        cursor = str(params["starting_after"])
        if cursor not in ids:
            raise not_found("object", cursor, param="starting_after")
        start = ids.index(cursor) + 1
        page, has_more = items[start : start + limit], start + limit < len(items)
    elif params.get("ending_before"):
        cursor = str(params["ending_before"])
        if cursor not in ids:
            raise not_found("object", cursor, param="ending_before")
        end = ids.index(cursor)
        page, has_more = items[max(0, end - limit) : end], end - limit > 0
    else:
        page, has_more = items[:limit], len(items) > limit
    expand = [p[len("data.") :] for p in expand_params(params) if p.startswith("data.")]
    data = [render(store, item, version, expand) for item in page]
    if transform:
        data = [transform(d) for d in data]
    return list_object(data, url, has_more)
