"""Events: list (type filters) and retrieve, data.object rendered in the account's API version."""

from typing import Any

from stripe_emulator.forms import as_list
from stripe_emulator.render import PREVIOUS_RENDERERS, public, render, renderer
from stripe_emulator.routing import Call, route
from stripe_emulator.store import Store


def render_event(store: Store, event: dict[str, Any], version: str) -> dict[str, Any]:
    out = public({k: v for k, v in event.items() if k != "data"})
    out["api_version"] = version
    obj = event["data"]["object"]
    data: dict[str, Any] = {"object": render(store, obj, version)}
    if "previous_attributes" in event["data"]:
        previous = event["data"]["previous_attributes"]
        shape = PREVIOUS_RENDERERS.get(obj.get("object", ""))
        data["previous_attributes"] = shape(store, previous, version) if shape else public(previous)
    out["data"] = data
    return out


@renderer("event")
def render_account_event(store: Store, event: dict[str, Any], version: str) -> dict[str, Any]:
    return render_event(store, event, store.api_version)


@route("GET", "/v1/events/{id}")
def retrieve(call: Call) -> dict[str, Any]:
    return call.render(call.fetch("event", call.path["id"], "event"))


@route("GET", "/v1/events")
def list_events(call: Call) -> dict[str, Any]:
    items = call.store.all("event")
    types = as_list(call.params.get("types"), "types")
    if call.params.get("type"):
        wanted = str(call.params["type"])
        if wanted.endswith("*"):
            items = [e for e in items if e["type"].startswith(wanted[:-1])]
        else:
            items = [e for e in items if e["type"] == wanted]
    if types:
        items = [e for e in items if e["type"] in types]
    return call.page(items, "/v1/events")
