"""POST /v1/keys/verify: admin token auth, key and subscription states, cache invalidation, on both DBs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing.models import Subscription
from portal_api.config import Settings
from portal_api.core.changes import announce
from portal_api.keys.models import ApiKey
from portal_api.main import services_of
from tests.api.keys.conftest import subscribe
from tests.fixtures.database import running_app
from tests.fixtures.keys import new_key, verify_key
from tests.fixtures.members import ADMIN, ADMIN_TOKEN, Member, sign_up


def move_clock(app: Any, by: timedelta) -> None:
    """Let the verifier (and the key routes) see a later time, as if `by` had passed."""
    services_of(app).key_verifier.clock = lambda: datetime.now(UTC) + by


async def test_key_of_active_subscriber_is_valid_with_customer_and_plan(
    api: httpx.AsyncClient, alice: Member, db_session: AsyncSession
) -> None:
    subscription = await subscribe(db_session, alice, "active")
    key = await new_key(api, alice)

    result = await verify_key(api, key["secret"])

    assert result == {
        "valid": True,
        "key_id": key["id"],
        "customer_id": subscription.stripe_customer_id,
        "subscription_status": "active",
        "plan": {"price_id": "price_payg", "nickname": "Pay as you go", "product_name": "My API"},
        "reason": None,
    }


@pytest.mark.parametrize(
    ("status", "valid", "reason"),
    [
        ("active", True, None),
        ("trialing", True, None),
        ("canceled", False, "subscription_inactive"),
        ("unpaid", False, "subscription_inactive"),
        ("incomplete_expired", False, "subscription_inactive"),
    ],
)
async def test_subscription_status_decides_validity(
    api: httpx.AsyncClient,
    alice: Member,
    db_session: AsyncSession,
    status: str,
    valid: bool,
    reason: str | None,
) -> None:
    await subscribe(db_session, alice, status)
    key = await new_key(api, alice)

    result = await verify_key(api, key["secret"])

    assert (result["valid"], result["reason"], result["subscription_status"]) == (valid, reason, status)


async def test_key_without_any_subscription_is_invalid_no_subscription(
    api: httpx.AsyncClient, alice: Member
) -> None:
    key = await new_key(api, alice)

    result = await verify_key(api, key["secret"])

    assert result["valid"] is False and result["reason"] == "no_subscription"
    assert result["key_id"] == key["id"]
    assert result["customer_id"] is None and result["plan"] is None and result["subscription_status"] is None


async def test_past_due_is_valid_within_grace_and_invalid_after(
    api: httpx.AsyncClient, alice: Member, bob: Member, db_session: AsyncSession, settings: Settings
) -> None:
    grace = timedelta(hours=settings.past_due_grace_hours)
    await subscribe(db_session, alice, "past_due", status_changed_at=datetime.now(UTC) - timedelta(hours=1))
    await subscribe(
        db_session, bob, "past_due", status_changed_at=datetime.now(UTC) - grace - timedelta(minutes=1)
    )
    alices, bobs = await new_key(api, alice), await new_key(api, bob)

    within = await verify_key(api, alices["secret"])
    after = await verify_key(api, bobs["secret"])

    assert within["valid"] is True and within["subscription_status"] == "past_due"
    assert after["valid"] is False and after["reason"] == "past_due_grace_expired"


async def test_past_due_grace_runs_out_even_while_the_key_is_cached(
    app: Any, api: httpx.AsyncClient, alice: Member, db_session: AsyncSession, settings: Settings
) -> None:
    await subscribe(db_session, alice, "past_due", status_changed_at=datetime.now(UTC))
    key = await new_key(api, alice)
    assert (await verify_key(api, key["secret"]))["valid"] is True

    move_clock(app, timedelta(hours=settings.past_due_grace_hours, minutes=1))

    assert (await verify_key(api, key["secret"]))["reason"] == "past_due_grace_expired"


async def test_most_relevant_subscription_wins_active_over_newer_canceled(
    api: httpx.AsyncClient, alice: Member, bob: Member, db_session: AsyncSession
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=30)
    await subscribe(db_session, alice, "active", created_at=long_ago)
    await subscribe(db_session, alice, "canceled")
    await subscribe(db_session, bob, "canceled", created_at=long_ago)
    await subscribe(db_session, bob, "incomplete_expired")
    alices, bobs = await new_key(api, alice), await new_key(api, bob)

    assert (await verify_key(api, alices["secret"]))["subscription_status"] == "active"
    assert (await verify_key(api, bobs["secret"]))["subscription_status"] == "incomplete_expired"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "   ",
        "hello",
        "mdp_test_",
        "mdp_live_short",
        "mdp_prod_" + "a" * 43,
        ADMIN_TOKEN,  # the admin API token is no customer key
        "mdp_test_" + "é" * 43,
        "mdp_test_" + "a" * 43 + "\x00",
        "Bearer mdp_test_" + "a" * 43,
        "mdp_test_" + "a" * 300,
    ],
)
async def test_malformed_key_is_200_invalid_unknown_key(api: httpx.AsyncClient, key: str) -> None:
    result = await verify_key(api, key)

    assert result == {
        "valid": False,
        "key_id": None,
        "customer_id": None,
        "subscription_status": None,
        "plan": None,
        "reason": "unknown_key",
    }


async def test_well_formed_unknown_key_is_unknown_key(api: httpx.AsyncClient, alice: Member) -> None:
    real = await new_key(api, alice)
    forged = real["secret"][:-4] + ("AAAA" if not real["secret"].endswith("AAAA") else "BBBB")

    assert (await verify_key(api, forged))["reason"] == "unknown_key"
    assert (await verify_key(api, forged))["reason"] == "unknown_key"  # the cached negative answer agrees


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "validation_error"),
        ({"json": {}}, "validation_error"),
        ({"json": {"key": 12345}}, "validation_error"),
        ({"json": {"key": "mdp_test_" + "a" * 600}}, "validation_error"),
        ({"content": b"not json", "headers": {"Content-Type": "application/json"}}, "validation_error"),
    ],
)
async def test_missing_wrong_or_oversized_verify_body_is_422(
    api: httpx.AsyncClient, kwargs: dict[str, Any], expected: str
) -> None:
    headers = {**ADMIN, **kwargs.pop("headers", {})}

    response = await api.post("/v1/keys/verify", headers=headers, **kwargs)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == expected


async def test_verify_needs_an_admin_token_not_a_user_session(
    api: httpx.AsyncClient, alice: Member, db_session: AsyncSession
) -> None:
    await subscribe(db_session, alice)
    key = (await new_key(api, alice))["secret"]
    body = {"key": key}

    anonymous = await api.post("/v1/keys/verify", json=body)
    user_session = await api.post("/v1/keys/verify", json=body, headers=alice.headers)
    forged = await api.post(
        "/v1/keys/verify", json=body, headers={"Authorization": "Bearer mdp_admin_" + "z" * 43}
    )
    anonymous_bad_body = await api.post("/v1/keys/verify", json={"nope": 1})

    for response in (anonymous, user_session, forged, anonymous_bad_body):
        assert response.status_code == 401
        assert set(response.json()["error"]) >= {"code", "message"}
    assert forged.json()["error"]["code"] == "invalid_admin_token"
    assert (await verify_key(api, key))["valid"] is True


async def test_revoked_key_is_invalid_at_once_even_after_being_cached(
    api: httpx.AsyncClient, alice: Member, db_session: AsyncSession
) -> None:
    await subscribe(db_session, alice)
    key = await new_key(api, alice)
    assert (await verify_key(api, key["secret"]))["valid"] is True  # now cached

    await api.delete(f"/v1/keys/{key['id']}", headers=alice.headers)

    result = await verify_key(api, key["secret"])
    assert result["valid"] is False and result["reason"] == "revoked" and result["key_id"] == key["id"]


async def test_expired_key_is_invalid_with_reason_expired(
    app: Any, api: httpx.AsyncClient, alice: Member, db_session: AsyncSession
) -> None:
    await subscribe(db_session, alice)
    key = await new_key(api, alice, expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    stored_past = await new_key(api, alice)
    await db_session.execute(
        update(ApiKey)
        .where(ApiKey.id == stored_past["id"])
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await db_session.commit()
    assert (await verify_key(api, key["secret"]))["valid"] is True

    move_clock(app, timedelta(hours=1, seconds=1))

    assert (await verify_key(api, key["secret"]))["reason"] == "expired"
    assert (await verify_key(api, stored_past["secret"]))["reason"] == "expired"
    listed = {k["id"]: k["status"] for k in (await api.get("/v1/keys", headers=alice.headers)).json()["data"]}
    assert listed == {key["id"]: "expired", stored_past["id"]: "expired"}


async def test_rotated_key_stays_valid_within_grace_and_expires_after(
    app: Any, api: httpx.AsyncClient, alice: Member, db_session: AsyncSession, settings: Settings
) -> None:
    await subscribe(db_session, alice)
    old = await new_key(api, alice)
    assert (await verify_key(api, old["secret"]))["valid"] is True  # cached before the rotation

    new = (await api.post(f"/v1/keys/{old['id']}/rotate", headers=alice.headers)).json()

    assert (await verify_key(api, old["secret"]))["valid"] is True
    assert (await verify_key(api, new["secret"]))["valid"] is True
    move_clock(app, timedelta(hours=settings.key_rotation_grace_hours, seconds=1))
    assert (await verify_key(api, old["secret"]))["reason"] == "expired"
    assert (await verify_key(api, new["secret"]))["valid"] is True


async def test_zero_rotation_grace_invalidates_the_old_key_at_once(
    app: Any, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory(admin_bootstrap_token=ADMIN_TOKEN, key_rotation_grace_hours=0)
    async with (
        running_app(settings) as no_grace_app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=no_grace_app), base_url="http://t") as client,
    ):
        member = await sign_up(client, "carol@example.com")
        old = await new_key(client, member)
        assert (await verify_key(client, old["secret"]))["reason"] == "no_subscription"  # known, cached

        new = (await client.post(f"/v1/keys/{old['id']}/rotate", headers=member.headers)).json()

        assert (await verify_key(client, old["secret"]))["reason"] == "expired"
        assert (await verify_key(client, new["secret"]))["reason"] == "no_subscription"


async def test_a_user_change_on_the_feed_makes_a_subscription_change_visible_at_once(
    app: Any, api: httpx.AsyncClient, alice: Member, db_session: AsyncSession
) -> None:
    subscription = await subscribe(db_session, alice, "active")
    key = await new_key(api, alice)
    assert (await verify_key(api, key["secret"]))["valid"] is True

    await db_session.execute(
        update(Subscription)
        .where(Subscription.id == subscription.id)
        .values(status="canceled", status_changed_at=datetime.now(UTC))
    )
    await db_session.commit()
    stale = await verify_key(api, key["secret"])  # the cache still holds the old status ...
    services_of(app).changes.publish("user", alice.id)
    fresh = await verify_key(api, key["secret"])  # ... until the subscription code says it changed

    assert stale["valid"] is True
    assert fresh["valid"] is False and fresh["reason"] == "subscription_inactive"
    assert fresh["subscription_status"] == "canceled"


async def test_a_change_announced_on_a_session_clears_again_after_commit(
    app: Any, api: httpx.AsyncClient, alice: Member, db_session: AsyncSession
) -> None:
    subscription = await subscribe(db_session, alice, "active")
    key = await new_key(api, alice)
    assert (await verify_key(api, key["secret"]))["valid"] is True
    cache = services_of(app).key_verifier.cache
    key_hash = services_of(app).key_verifier.key_hash(key["secret"])
    _, active_facts = cache.get(key_hash)

    subscription.status = "canceled"
    announce(db_session, "user", alice.id)
    # A verification that read the database before the commit stores the old facts again ...
    cache.put(key_hash, active_facts, epoch=cache.epoch)
    assert (await verify_key(api, key["secret"]))["valid"] is True
    await db_session.commit()  # ... and the commit clears them

    assert (await verify_key(api, key["secret"]))["reason"] == "subscription_inactive"


async def test_last_used_at_is_recorded_once_per_throttle_window(
    app: Any, api: httpx.AsyncClient, alice: Member, db_session: AsyncSession
) -> None:
    await subscribe(db_session, alice)
    key = await new_key(api, alice)
    assert key["last_used_at"] is None

    await verify_key(api, key["secret"])
    first = (await api.get("/v1/keys", headers=alice.headers)).json()["data"][0]["last_used_at"]
    services_of(app).key_verifier.last_used.flush_seconds = 0  # flush at every call if anything is waiting
    for _ in range(5):
        await verify_key(api, key["secret"])
    second = (await api.get("/v1/keys", headers=alice.headers)).json()["data"][0]["last_used_at"]

    assert first is not None
    assert second == first  # no new write inside the one-minute window
