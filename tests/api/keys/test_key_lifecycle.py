"""Create, list, rotate and revoke API keys over ASGI, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.keys.models import ApiKey
from portal_api.keys.service import MAX_ACTIVE_KEYS_PER_USER
from portal_api.security import keyed_hash
from tests.fixtures.keys import new_key
from tests.fixtures.members import Member

LISTED_FIELDS = {"id", "name", "prefix", "status", "created_at", "expires_at", "revoked_at", "last_used_at"}


async def test_created_key_has_mode_prefix_and_secret_shown_once(
    api: httpx.AsyncClient, alice: Member
) -> None:
    created = await new_key(api, alice, "production")

    assert set(created) == LISTED_FIELDS | {"secret"}
    assert created["secret"].startswith("mdp_test_") and len(created["secret"]) > 40
    assert created["secret"].startswith(created["prefix"]) and created["prefix"] != created["secret"]
    assert created["status"] == "active" and created["name"] == "production"
    listed = (await api.get("/v1/keys", headers=alice.headers)).json()["data"]
    assert [set(k) for k in listed] == [LISTED_FIELDS]
    assert listed[0]["id"] == created["id"]
    assert created["secret"] not in (await api.get("/v1/keys", headers=alice.headers)).text


async def test_stored_row_holds_only_keyed_hash_never_the_secret(
    api: httpx.AsyncClient, alice: Member, db_session: AsyncSession, settings: Settings
) -> None:
    created = await new_key(api, alice)
    secret = created["secret"]

    row = await db_session.get(ApiKey, created["id"])
    assert row is not None
    assert row.key_hash == keyed_hash(settings.secret_key.get_secret_value(), secret)
    assert row.key_hash != secret
    columns = {c.key: getattr(row, c.key) for c in ApiKey.__table__.columns}
    assert not any(isinstance(v, str) and secret in v for v in columns.values())
    assert not any(isinstance(v, str) and secret[len(row.prefix) :] in v for v in columns.values())


async def test_expires_at_in_the_future_is_kept_and_shows_expiring_when_near(
    api: httpx.AsyncClient, alice: Member
) -> None:
    soon = datetime.now(UTC) + timedelta(days=2)
    later = datetime.now(UTC) + timedelta(days=90)

    near = await new_key(api, alice, "near", expires_at=soon.isoformat())
    far = await new_key(api, alice, "far", expires_at=later.isoformat())

    assert near["status"] == "expiring"
    assert far["status"] == "active"
    assert datetime.fromisoformat(far["expires_at"]) == later.replace(microsecond=later.microsecond)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": ""}, "validation_error"),
        ({"name": "   "}, "validation_error"),
        ({"name": "x" * 101}, "validation_error"),
        ({}, "validation_error"),
        ({"name": "ok", "expires_at": "2999-01-01T00:00:00"}, "validation_error"),  # naive
        ({"name": "ok", "expires_at": "not a date"}, "validation_error"),
        ({"name": "ok", "expires_at": "2001-01-01T00:00:00Z"}, "invalid_expiry"),  # in the past
        ({"name": "ok", "surprise": 1}, "validation_error"),
    ],
)
async def test_bad_create_body_is_422_with_error_code(
    api: httpx.AsyncClient, alice: Member, body: dict[str, object], code: str
) -> None:
    response = await api.post("/v1/keys", json=body, headers=alice.headers)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


async def test_key_routes_without_session_are_401(api: httpx.AsyncClient, alice: Member) -> None:
    key_id = (await new_key(api, alice))["id"]

    responses = [
        await api.get("/v1/keys"),
        await api.post("/v1/keys", json={"name": "x"}),
        await api.post(f"/v1/keys/{key_id}/rotate"),
        await api.delete(f"/v1/keys/{key_id}"),
        await api.get("/v1/keys", headers={"Authorization": "Bearer forged.token"}),
    ]

    assert [r.status_code for r in responses] == [401] * 5
    assert {r.json()["error"]["code"] for r in responses} == {"not_signed_in"}


async def test_another_users_key_is_404_like_an_unknown_id_and_not_listed(
    api: httpx.AsyncClient, alice: Member, bob: Member
) -> None:
    alices = await new_key(api, alice)

    rotate = await api.post(f"/v1/keys/{alices['id']}/rotate", headers=bob.headers)
    revoke = await api.delete(f"/v1/keys/{alices['id']}", headers=bob.headers)
    unknown_rotate = await api.post("/v1/keys/key_doesnotexist/rotate", headers=bob.headers)
    unknown_revoke = await api.delete("/v1/keys/key_doesnotexist", headers=bob.headers)

    assert [r.status_code for r in (rotate, revoke, unknown_rotate, unknown_revoke)] == [404] * 4
    assert rotate.json() == unknown_rotate.json() == revoke.json() == unknown_revoke.json()
    assert rotate.json()["error"]["code"] == "key_not_found"
    assert (await api.get("/v1/keys", headers=bob.headers)).json() == {"data": []}
    assert (await api.get("/v1/keys", headers=alice.headers)).json()["data"][0]["revoked_at"] is None


async def test_rotate_issues_new_key_with_same_name_and_old_key_expires_after_grace(
    api: httpx.AsyncClient, alice: Member, db_session: AsyncSession
) -> None:
    old = await new_key(api, alice, "gateway")
    before = datetime.now(UTC)

    response = await api.post(f"/v1/keys/{old['id']}/rotate", headers=alice.headers)

    assert response.status_code == 201
    new = response.json()
    assert new["name"] == "gateway" and new["id"] != old["id"]
    assert new["secret"].startswith("mdp_test_") and new["secret"] != old["secret"]
    row = await db_session.get(ApiKey, old["id"])
    assert row is not None and row.replaced_by_id == new["id"] and row.revoked_at is None
    assert row.expires_at is not None
    assert timedelta(hours=23.9) < row.expires_at - before < timedelta(hours=24.1)
    await db_session.rollback()  # end the read: on SQLite every transaction holds the write lock
    listed = {k["id"]: k for k in (await api.get("/v1/keys", headers=alice.headers)).json()["data"]}
    assert listed[old["id"]]["status"] == "expiring"
    assert listed[new["id"]]["status"] == "active"
    assert "secret" not in listed[new["id"]]


async def test_rotation_keeps_an_earlier_expiry_of_the_old_key(api: httpx.AsyncClient, alice: Member) -> None:
    in_an_hour = datetime.now(UTC) + timedelta(hours=1)
    old = await new_key(api, alice, expires_at=in_an_hour.isoformat())

    new = (await api.post(f"/v1/keys/{old['id']}/rotate", headers=alice.headers)).json()

    listed = {k["id"]: k for k in (await api.get("/v1/keys", headers=alice.headers)).json()["data"]}
    assert datetime.fromisoformat(listed[old["id"]]["expires_at"]) == in_an_hour
    assert datetime.fromisoformat(new["expires_at"]) == in_an_hour  # rotation does not extend a lifetime


async def test_rotating_a_revoked_or_already_rotated_key_is_409(
    api: httpx.AsyncClient, alice: Member
) -> None:
    revoked = await new_key(api, alice, "a")
    rotated = await new_key(api, alice, "b")
    await api.delete(f"/v1/keys/{revoked['id']}", headers=alice.headers)
    await api.post(f"/v1/keys/{rotated['id']}/rotate", headers=alice.headers)

    again_revoked = await api.post(f"/v1/keys/{revoked['id']}/rotate", headers=alice.headers)
    again_rotated = await api.post(f"/v1/keys/{rotated['id']}/rotate", headers=alice.headers)

    assert again_revoked.status_code == 409 and again_revoked.json()["error"]["code"] == "key_revoked"
    assert again_rotated.status_code == 409 and again_rotated.json()["error"]["code"] == "key_already_rotated"


async def test_revoke_returns_revoked_key_and_is_idempotent(api: httpx.AsyncClient, alice: Member) -> None:
    key = await new_key(api, alice)

    first = await api.delete(f"/v1/keys/{key['id']}", headers=alice.headers)
    second = await api.delete(f"/v1/keys/{key['id']}", headers=alice.headers)

    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "revoked" and first.json()["revoked_at"] is not None
    assert second.json() == first.json()
    assert "secret" not in first.json()
    listed = (await api.get("/v1/keys", headers=alice.headers)).json()["data"]
    assert listed[0]["status"] == "revoked"


async def test_active_key_limit_is_409_and_revoking_one_makes_room(
    api: httpx.AsyncClient, alice: Member, db_session: AsyncSession, settings: Settings
) -> None:
    db_session.add_all(
        ApiKey(user_id=alice.id, name=f"k{i}", prefix="mdp_test_x", key_hash=f"{i:064x}", mode="test")
        for i in range(MAX_ACTIVE_KEYS_PER_USER)
    )
    await db_session.commit()

    refused = await api.post("/v1/keys", json={"name": "one too many"}, headers=alice.headers)
    some_id = (await db_session.scalars(select(ApiKey.id).where(ApiKey.user_id == alice.id))).first()
    await db_session.rollback()
    await api.delete(f"/v1/keys/{some_id}", headers=alice.headers)
    accepted = await api.post("/v1/keys", json={"name": "now fits"}, headers=alice.headers)

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "key_limit_reached"
    assert str(MAX_ACTIVE_KEYS_PER_USER) in refused.json()["error"]["message"]
    assert accepted.status_code == 201
