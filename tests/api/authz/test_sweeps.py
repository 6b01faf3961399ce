"""Sweeps over the whole route table, on SQLite and PostgreSQL: anonymous callers get 401 on every route that
is not public, signed-in non-admins 403 on every admin route, and each credential opens only its own door."""

from __future__ import annotations

import httpx

from tests.api.authz.conftest import METRICS_TOKEN, Cast
from tests.api.authz.route_table import ROUTES, Access, Route, concrete, routes_with
from tests.fixtures.members import ADMIN, bearer

Outcome = tuple[str, str, int, str]


async def call(
    api: httpx.AsyncClient, method: str, template: str, route: Route, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = route.body if route.body is not None else ({} if method in ("POST", "PUT", "PATCH") else None)
    return await api.request(method, concrete(template), json=body, headers=headers or {})


def code_of(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return response.text[:80]


async def test_anonymous_callers_get_401_on_every_route_that_is_not_public(
    api: httpx.AsyncClient, cast: Cast
) -> None:
    wrong: list[Outcome] = []
    checked = 0
    for method, template in routes_with(
        Access.USER, Access.ADMIN, Access.ADMIN_USER, Access.ADMIN_API_TOKEN, Access.OWN_TOKEN
    ):
        route = ROUTES[(method, template)]
        response = await call(api, method, template, route)
        checked += 1
        if response.status_code != route.anonymous_status:
            wrong.append((method, template, response.status_code, code_of(response)))
    assert wrong == []
    assert checked == len(ROUTES) - len(routes_with(Access.PUBLIC))


async def test_public_routes_answer_anonymous_callers_without_asking_who_they_are(
    api: httpx.AsyncClient, cast: Cast
) -> None:
    wrong: list[Outcome] = []
    for method, template in routes_with(Access.PUBLIC):
        response = await call(api, method, template, ROUTES[(method, template)])
        if response.status_code in (401, 403) or response.status_code >= 500:
            wrong.append((method, template, response.status_code, code_of(response)))
    assert wrong == []
    assert (await api.get("/v1/plans")).status_code == 200


async def test_signed_in_non_admins_get_403_on_every_admin_route(api: httpx.AsyncClient, cast: Cast) -> None:
    wrong: list[Outcome] = []
    admin_routes = routes_with(Access.ADMIN, Access.ADMIN_USER)
    for member in (cast.owner, cast.other):
        for method, template in admin_routes:
            response = await call(api, method, template, ROUTES[(method, template)], member.headers)
            if (response.status_code, code_of(response)) != (403, "admin_only"):
                wrong.append((method, template, response.status_code, code_of(response)))
    assert wrong == []
    assert len(admin_routes) >= 20


async def test_admins_pass_the_check_of_every_admin_read(api: httpx.AsyncClient, cast: Cast) -> None:
    """The positive control of the 403 sweep: the same GETs let an admin (session or admin API token) in."""
    refused: list[Outcome] = []
    for method, template in routes_with(Access.ADMIN, Access.ADMIN_USER):
        if method != "GET":
            continue
        route = ROUTES[(method, template)]
        admin_api = [ADMIN] if route.access is Access.ADMIN else []
        for headers in (cast.admin.headers, *admin_api):
            response = await call(api, method, template, route, headers)
            if response.status_code in (401, 403):
                refused.append((method, template, response.status_code, code_of(response)))
    assert refused == []


async def test_admin_api_tokens_cannot_manage_credentials(api: httpx.AsyncClient, cast: Cast) -> None:
    wrong: list[Outcome] = []
    for method, template in routes_with(Access.ADMIN_USER):
        response = await call(api, method, template, ROUTES[(method, template)], ADMIN)
        if response.status_code != 401:
            wrong.append((method, template, response.status_code, code_of(response)))
    assert wrong == []
    assert len(routes_with(Access.ADMIN_USER)) == 7


async def test_admin_api_token_routes_refuse_every_user_session_even_an_admins(
    api: httpx.AsyncClient, cast: Cast
) -> None:
    wrong: list[Outcome] = []
    for method, template in routes_with(Access.ADMIN_API_TOKEN):
        route = ROUTES[(method, template)]
        for member in (cast.owner, cast.admin):
            response = await call(api, method, template, route, member.headers)
            if response.status_code != 401:
                wrong.append((method, template, response.status_code, code_of(response)))
        with_token = await call(api, method, template, route, ADMIN)
        if with_token.status_code in (401, 403):
            wrong.append((method, template, with_token.status_code, "admin API token refused"))
    assert wrong == []


async def test_an_admin_api_token_is_not_a_user_session(api: httpx.AsyncClient, cast: Cast) -> None:
    wrong: list[Outcome] = []
    for method, template in routes_with(Access.USER):
        response = await call(api, method, template, ROUTES[(method, template)], ADMIN)
        if response.status_code != 401:
            wrong.append((method, template, response.status_code, code_of(response)))
    assert wrong == []


async def test_own_token_routes_refuse_portal_sessions_and_admin_tokens(
    api: httpx.AsyncClient, cast: Cast
) -> None:
    wrong: list[Outcome] = []
    for method, template in routes_with(Access.OWN_TOKEN):
        route = ROUTES[(method, template)]
        for headers in (cast.admin.headers, ADMIN):
            response = await call(api, method, template, route, headers)
            if response.status_code != route.anonymous_status:
                wrong.append((method, template, response.status_code, code_of(response)))
    assert wrong == []
    metrics = await api.get("/metrics", headers=bearer(METRICS_TOKEN))
    assert metrics.status_code == 200
