"""Every route taking a path id, with a real object behind the id: another signed-in user gets 404 for a
customer's object (an admin too: customer routes are the customer's), a non-admin 403 for an admin object,
anonymous 401, and none of those changes the object; then its rightful caller succeeds with the same id.

The objects need the emulator and a few writes each, so this part runs on SQLite only; the sweeps in
test_sweeps.py cover both backends.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.authz.conftest import Cast
from tests.api.authz.objects import make
from tests.api.authz.route_table import ROUTES, Access, concrete, owned_routes
from tests.fixtures.members import Member

# What the rightful caller gets with the same id (proves the id was real, so the refusals were not 404s
# for an unknown id).
RIGHTFUL_STATUS: dict[tuple[str, str], int] = {
    ("POST", "/v1/keys/{key_id}/rotate"): 201,
    ("DELETE", "/v1/keys/{key_id}"): 200,
    ("POST", "/v1/checkout/sessions/{checkout_session_id}/complete"): 200,
    ("PATCH", "/v1/admin/tokens/{token_id}"): 200,
    ("DELETE", "/v1/admin/tokens/{token_id}"): 200,
    ("DELETE", "/v1/admin/collector-tokens/{token_id}"): 204,
    ("GET", "/v1/admin/meters/{meter_id}"): 200,
    ("PATCH", "/v1/admin/meters/{meter_id}"): 200,
    ("DELETE", "/v1/admin/meters/{meter_id}"): 204,
    ("POST", "/v1/admin/meters/{meter_id}/test"): 200,
    ("GET", "/v1/admin/meters/{meter_id}/test-event"): 200,
    ("GET", "/v1/admin/customers/{user_id}"): 200,
}


def test_every_route_with_an_owned_object_has_a_rightful_outcome() -> None:
    assert sorted(RIGHTFUL_STATUS) == owned_routes()


async def request(
    api: httpx.AsyncClient, method: str, template: str, object_id: str, member: Member | None
) -> httpx.Response:
    route = ROUTES[(method, template)]
    body = route.body if route.body is not None else ({} if method in ("POST", "PUT", "PATCH") else None)
    if template.endswith("/complete") or template.endswith("/test"):
        body = None  # these take no body (or an optional one)
    headers = member.headers if member is not None else {}
    return await api.request(method, concrete(template, object_id), json=body, headers=headers)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("method", "template"), owned_routes(), ids=lambda v: str(v))
async def test_only_the_rightful_caller_reaches_the_object_behind_a_path_id(
    api: httpx.AsyncClient, app: Any, cast: Cast, catalog: dict[str, Any], method: str, template: str
) -> None:
    route = ROUTES[(method, template)]
    assert route.owns is not None
    owned = await make(route.owns, api, app, cast, catalog)
    before = await owned.read()

    if route.access is Access.USER:
        refusals = [(cast.other, 404), (cast.admin, 404), (None, 401)]
        rightful = cast.owner
    else:
        assert route.access in (Access.ADMIN, Access.ADMIN_USER)
        refusals = [(cast.owner, 403), (cast.other, 403), (None, 401)]
        rightful = cast.admin
    for intruder, status in refusals:
        response = await request(api, method, template, owned.id, intruder)
        who = intruder.email if intruder else "anonymous"
        assert response.status_code == status, (who, response.text)
        assert set(response.json()) == {"error"}, (who, response.text)
        assert await owned.read() == before, f"{who}'s refused {method} {template} changed the object"

    response = await request(api, method, template, owned.id, rightful)
    assert response.status_code == RIGHTFUL_STATUS[(method, template)], response.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_routes_without_a_path_id_show_each_user_only_their_own_things(
    api: httpx.AsyncClient, app: Any, cast: Cast, catalog: dict[str, Any]
) -> None:
    """/v1/subscription, /v1/keys, /v1/invoices/upcoming take no id: the session alone says whose."""
    await make("customer", api, app, cast, catalog)  # the owner subscribed (and got a first key)
    own_keys = (await api.get("/v1/keys", headers=cast.owner.headers)).json()["data"]
    assert len(own_keys) == 1
    assert (await api.get("/v1/subscription", headers=cast.owner.headers)).status_code == 200

    subscription = await api.get("/v1/subscription", headers=cast.other.headers)
    keys = await api.get("/v1/keys", headers=cast.other.headers)
    invoice = await api.get("/v1/invoices/upcoming", headers=cast.other.headers)

    assert (subscription.status_code, subscription.json()["error"]["code"]) == (404, "no_subscription")
    assert keys.status_code == 200 and keys.json()["data"] == []
    assert invoice.status_code == 404, invoice.text
