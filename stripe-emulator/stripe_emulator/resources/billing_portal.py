"""Billing portal sessions: a URL to the emulator's hosted customer portal page."""

from typing import Any

from stripe_emulator.ids import new_id
from stripe_emulator.resources.customers import live_customer
from stripe_emulator.routing import Call, route


def portal_url(base_url: str, session_id: str) -> str:
    return f"{base_url.rstrip('/')}/p/session/{session_id}"


@route("POST", "/v1/billing_portal/sessions")
def create(call: Call) -> dict[str, Any]:
    customer = live_customer(call, str(call.require("customer")))
    session_id = new_id("bps")
    session = call.store.add(
        {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": "bpc_emulator",
            "created": call.now(),
            "customer": customer["id"],
            "flow": None,
            "livemode": False,
            "locale": call.params.get("locale") or None,
            "on_behalf_of": None,
            "return_url": call.params.get("return_url") or None,
            "url": portal_url(call.base_url, session_id),
        }
    )
    return call.render(session)
