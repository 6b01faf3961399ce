"""Admin API tokens: create (shown once), list, revoke; who may; a revoked token can no longer verify keys."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.admin.models import AdminToken
from tests.fixtures.keys import new_key
from tests.fixtures.members import Member, bearer

CREATED_FIELDS = {"id", "name", "prefix", "token", "created_at", "scopes"}


async def create_token(api: httpx.AsyncClient, admin: Member, name: str = "gateway") -> dict[str, str]:
    response = await api.post("/v1/admin/tokens", json={"name": name}, headers=admin.headers)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def test_admin_creates_token_shown_once_and_stored_hashed(
    api: httpx.AsyncClient, admin: Member, db_session: AsyncSession
) -> None:
    created = await create_token(api, admin)

    assert set(created) == CREATED_FIELDS
    assert created["token"].startswith("mdp_admin_") and created["token"].startswith(created["prefix"])
    listed = await api.get("/v1/admin/tokens", headers=admin.headers)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["data"]] == [created["id"]]
    assert created["token"] not in listed.text and "token_hash" not in listed.text
    assert listed.json()["data"][0]["created_by_user_id"] == admin.id
    row = await db_session.get(AdminToken, created["id"])
    assert row is not None and row.token_hash != created["token"]
    assert created["token"] not in {row.token_hash, row.prefix, row.name}


async def test_created_token_verifies_keys_until_revoked(
    api: httpx.AsyncClient, admin: Member, user: Member
) -> None:
    token = await create_token(api, admin)
    gateway = bearer(token["token"])
    key = (await new_key(api, user))["secret"]

    before = await api.post("/v1/keys/verify", json={"key": key}, headers=gateway)
    revoked = await api.delete(f"/v1/admin/tokens/{token['id']}", headers=admin.headers)
    after = await api.post("/v1/keys/verify", json={"key": key}, headers=gateway)

    assert before.status_code == 200 and before.json()["key_id"] is not None
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert "token" not in revoked.json()
    assert after.status_code == 401 and after.json()["error"]["code"] == "invalid_admin_token"


async def test_revoking_twice_is_the_same_answer_and_unknown_id_is_404(
    api: httpx.AsyncClient, admin: Member
) -> None:
    token = await create_token(api, admin)

    first = await api.delete(f"/v1/admin/tokens/{token['id']}", headers=admin.headers)
    second = await api.delete(f"/v1/admin/tokens/{token['id']}", headers=admin.headers)
    unknown = await api.delete("/v1/admin/tokens/atk_nope", headers=admin.headers)

    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "admin_token_not_found"


async def test_ordinary_user_gets_403_admin_only(api: httpx.AsyncClient, admin: Member, user: Member) -> None:
    token = await create_token(api, admin)

    responses = [
        await api.post("/v1/admin/tokens", json={"name": "mine"}, headers=user.headers),
        await api.get("/v1/admin/tokens", headers=user.headers),
        await api.delete(f"/v1/admin/tokens/{token['id']}", headers=user.headers),
    ]

    assert [r.status_code for r in responses] == [403] * 3
    assert {r.json()["error"]["code"] for r in responses} == {"admin_only"}
    listed = (await api.get("/v1/admin/tokens", headers=admin.headers)).json()["data"]
    assert listed[0]["revoked_at"] is None


async def test_anonymous_and_admin_token_callers_get_401(api: httpx.AsyncClient, admin: Member) -> None:
    token = await create_token(api, admin)
    as_token = bearer(token["token"])  # a token may not mint or revoke tokens

    for headers in ({}, as_token):
        responses = [
            await api.post("/v1/admin/tokens", json={"name": "x"}, headers=headers),
            await api.get("/v1/admin/tokens", headers=headers),
            await api.delete(f"/v1/admin/tokens/{token['id']}", headers=headers),
        ]
        assert [r.status_code for r in responses] == [401] * 3
        assert {r.json()["error"]["code"] for r in responses} == {"not_signed_in"}


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "  "}, {"name": "x" * 101}, {"name": 5}])
async def test_bad_token_name_is_422(api: httpx.AsyncClient, admin: Member, body: dict[str, object]) -> None:
    response = await api.post("/v1/admin/tokens", json=body, headers=admin.headers)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
