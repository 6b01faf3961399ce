"""Webhook endpoints: create (returns the whsec_ secret once), retrieve, update, list, delete."""

import secrets
from typing import Any

from stripe_emulator.errors import missing
from stripe_emulator.forms import as_bool, as_list, merge_metadata
from stripe_emulator.ids import new_id
from stripe_emulator.render import public, renderer
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store


def create_endpoint(
    store: Store,
    url: str,
    enabled_events: list[str],
    *,
    secret: str | None = None,
    api_version: str | None = None,
    configured: bool = False,
) -> dict[str, Any]:
    """Store an endpoint; ``url`` may be empty: such an endpoint only records signed deliveries."""
    return store.add(
        {
            "id": new_id("we"),
            "object": "webhook_endpoint",
            "api_version": api_version,
            "application": None,
            "created": store.clock.now(),
            "description": None,
            "enabled_events": enabled_events,
            "livemode": False,
            "metadata": {},
            "status": "enabled",
            "url": url,
            "_secret": secret or f"whsec_{secrets.token_hex(16)}",
            "_configured": configured,
        }
    )


@renderer("webhook_endpoint")
def render_endpoint(store: Store, endpoint: dict[str, Any], version: str) -> dict[str, Any]:
    return public(endpoint)


@route("POST", "/v1/webhook_endpoints")
def create(call: Call) -> dict[str, Any]:
    if call.params.get("url") is None:
        raise missing("url")
    url = str(call.params["url"])  # an empty url is the emulator's recording-only endpoint
    events = [str(e) for e in as_list(call.params.get("enabled_events"), "enabled_events")]
    if not events:
        raise missing("enabled_events")
    endpoint = create_endpoint(call.store, url, events, api_version=call.params.get("api_version") or None)
    endpoint["description"] = call.params.get("description") or None
    endpoint["metadata"] = merge_metadata({}, call.params.get("metadata"))
    out = call.render(endpoint)
    out["secret"] = endpoint["_secret"]  # only the create response reveals it, like Stripe
    return out


@route("GET", "/v1/webhook_endpoints/{id}")
def retrieve(call: Call) -> dict[str, Any]:
    return call.render(call.fetch("webhook_endpoint", call.path["id"], "webhook endpoint"))


@route("POST", "/v1/webhook_endpoints/{id}")
def update(call: Call) -> dict[str, Any]:
    endpoint = call.fetch("webhook_endpoint", call.path["id"], "webhook endpoint")
    params = call.params
    if params.get("url"):
        endpoint["url"] = str(params["url"])
    if "enabled_events" in params:
        endpoint["enabled_events"] = [str(e) for e in as_list(params["enabled_events"], "enabled_events")]
    if "disabled" in params:
        endpoint["status"] = "disabled" if as_bool(params["disabled"], "disabled") else "enabled"
    if "metadata" in params:
        endpoint["metadata"] = merge_metadata(endpoint["metadata"], params["metadata"])
    if "description" in params:
        endpoint["description"] = params["description"] or None
    return call.render(endpoint)


@route("GET", "/v1/webhook_endpoints")
def list_endpoints(call: Call) -> dict[str, Any]:
    return call.page(call.store.all("webhook_endpoint"), "/v1/webhook_endpoints")


@route("DELETE", "/v1/webhook_endpoints/{id}")
def delete(call: Call) -> dict[str, Any]:
    endpoint = call.fetch("webhook_endpoint", call.path["id"], "webhook endpoint")
    call.store.remove(endpoint["id"])
    return {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}
