"""Admin API token scopes over the whole route table: a gateway's token (verify + ingest) is refused every
admin route with 403 `insufficient_scope` and changes nothing; each gateway route needs its own scope; scope
changes take effect at once."""

from __future__ import annotations

import httpx

from tests.api.authz.conftest import Cast
from tests.api.authz.route_table import ROUTES, Access, routes_with
from tests.api.authz.test_sweeps import Outcome, call, code_of
from tests.fixtures.members import ADMIN, bearer


async def token_with(api: httpx.AsyncClient, cast: Cast, *scopes: str) -> dict[str, str]:
    created = await api.post(
        "/v1/admin/tokens",
        json={"name": "+".join(scopes), "scopes": list(scopes)},
        headers=cast.admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["scopes"] == list(scopes)
    return bearer(created.json()["token"])


async def test_a_gateway_token_gets_403_on_every_admin_route(api: httpx.AsyncClient, cast: Cast) -> None:
    gateway = await token_with(api, cast, "verify", "ingest")
    before = (await api.get("/v1/admin/billing-provider", headers=ADMIN)).json()
    wrong: list[Outcome] = []
    for method, template in routes_with(Access.ADMIN):
        response = await call(api, method, template, ROUTES[(method, template)], gateway)
        if (response.status_code, code_of(response)) != (403, "insufficient_scope"):
            wrong.append((method, template, response.status_code, code_of(response)))
    assert wrong == []
    assert len(routes_with(Access.ADMIN)) >= 14
    replaced = await api.put(
        "/v1/admin/billing-provider", json={"secret_key": "sk_test_stolen1234"}, headers=gateway
    )
    assert replaced.status_code == 403
    assert (await api.get("/v1/admin/billing-provider", headers=ADMIN)).json() == before


async def test_each_gateway_route_needs_its_own_scope(api: httpx.AsyncClient, cast: Cast) -> None:
    tokens = {scope: await token_with(api, cast, scope) for scope in ("verify", "ingest", "admin")}
    wrong: list[Outcome] = []
    for method, template in routes_with(Access.ADMIN_API_TOKEN):
        route = ROUTES[(method, template)]
        assert route.scope in ("verify", "ingest"), (method, template)
        for scope, headers in tokens.items():
            response = await call(api, method, template, route, headers)
            refused = (response.status_code, code_of(response)) == (403, "insufficient_scope")
            if refused == (scope == route.scope):
                wrong.append((method, template, response.status_code, f"{scope}: {code_of(response)}"))
    assert wrong == []


async def test_a_scope_change_applies_to_the_next_call(api: httpx.AsyncClient, cast: Cast) -> None:
    created = await api.post("/v1/admin/tokens", json={"name": "gw"}, headers=cast.admin.headers)
    token = bearer(created.json()["token"])
    verify = {"key": "mdp_test_" + "x" * 43}
    assert created.json()["scopes"] == ["verify", "ingest"]  # the default: what a gateway needs
    assert (await api.post("/v1/keys/verify", json=verify, headers=token)).status_code == 200  # cached now

    changed = await api.patch(
        f"/v1/admin/tokens/{created.json()['id']}", json={"scopes": ["ingest"]}, headers=cast.admin.headers
    )

    assert changed.status_code == 200 and changed.json()["scopes"] == ["ingest"]
    refused = await api.post("/v1/keys/verify", json=verify, headers=token)
    assert (refused.status_code, code_of(refused)) == (403, "insufficient_scope")
    assert refused.json()["error"]["details"]["scope"] == "verify"


async def test_unknown_or_empty_scopes_are_refused(api: httpx.AsyncClient, cast: Cast) -> None:
    for scopes in (["root"], []):
        response = await api.post(
            "/v1/admin/tokens", json={"name": "x", "scopes": scopes}, headers=cast.admin.headers
        )
        assert response.status_code == 422, response.text
