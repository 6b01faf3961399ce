"""Usage sent with a key that verify would have refused at the time of the call is stored unattributed and
never billed: a revoked or expired key, a canceled subscription, past_due beyond its grace. Calls made before
the key or subscription changed still count; a key of a customer without a subscription yet still counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing.models import Subscription
from portal_api.db import new_id, utcnow
from portal_api.metering.models import UsageEvent, UsageRollup
from tests.api.metering.conftest import create_meter, send_usage, usage_event
from tests.fixtures.keys import new_key_secret as new_key
from tests.fixtures.members import Member


async def subscription(db_session: AsyncSession, member: Member, status: str, changed: datetime) -> None:
    db_session.add(
        Subscription(
            user_id=member.id,
            stripe_customer_id=f"cus_{member.id[-8:]}",
            stripe_subscription_id=new_id("sub_test"),
            status=status,
            price_id="price_payg",
            status_changed_at=changed,
            created_at=changed - timedelta(days=30),
            current_period_start=utcnow() - timedelta(days=10),
            current_period_end=utcnow() + timedelta(days=20),
        )
    )
    await db_session.commit()


async def counted(db_session: AsyncSession, member: Member, meter: dict[str, Any]) -> float:
    """What the meter counted for `member` (its rollups: a canceled subscriber's dashboard shows no meter)."""
    rollups = await db_session.scalars(
        select(UsageRollup).where(UsageRollup.meter_id == meter["id"], UsageRollup.user_id == member.id)
    )
    total = sum(rollup.value_milli for rollup in rollups) / 1000
    await db_session.commit()  # ends the read, so the next request may write (SQLite)
    return total


async def test_calls_with_a_revoked_key_after_the_revocation_bill_no_one(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], db_session: AsyncSession
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await subscription(db_session, alice, "active", utcnow() - timedelta(days=1))
    key = await new_key(api, alice)
    await send_usage(api, [usage_event(key=key)])  # the key's facts are cached now
    key_id = next(k["id"] for k in (await api.get("/v1/keys", headers=alice.headers)).json()["data"])
    assert (await api.delete(f"/v1/keys/{key_id}", headers=alice.headers)).status_code == 200

    result = await send_usage(
        api,
        [
            usage_event(key=key, timestamp=utcnow() - timedelta(minutes=2)),  # made before the revocation
            usage_event(key=key, timestamp=utcnow() + timedelta(minutes=1)),
            usage_event(key=key, user_id=alice.id, timestamp=utcnow() + timedelta(minutes=1)),
        ],
    )

    assert result["accepted"] == 3 and result["unattributed"] == [1, 2]
    assert result["refused_keys"] == [{"index": 1, "reason": "revoked"}, {"index": 2, "reason": "revoked"}]
    assert await counted(db_session, alice, meter) == 2  # the first call and the one before the revocation
    refused = list(
        await db_session.scalars(select(UsageEvent).where(UsageEvent.attributed_by == "refused_key"))
    )
    assert (
        len(refused) == 2
        and {e.api_key_id for e in refused} == {key_id}
        and {e.user_id for e in refused} == {None}
    )


async def test_calls_with_an_expired_key_bill_no_one(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], db_session: AsyncSession
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await subscription(db_session, alice, "active", utcnow() - timedelta(days=1))
    expires = utcnow() + timedelta(seconds=30)
    created = await api.post(
        "/v1/keys", json={"name": "short", "expires_at": expires.isoformat()}, headers=alice.headers
    )
    key = created.json()["secret"]

    result = await send_usage(
        api, [usage_event(key=key), usage_event(key=key, timestamp=expires + timedelta(minutes=2))]
    )

    assert result["refused_keys"] == [{"index": 1, "reason": "expired"}]
    assert await counted(db_session, alice, meter) == 1


async def test_calls_after_a_cancellation_or_past_the_past_due_grace_bill_no_one(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    bob: Member,
    catalog: dict[str, Any],
    db_session: AsyncSession,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    canceled_at = utcnow() - timedelta(hours=1)
    await subscription(db_session, alice, "canceled", canceled_at)
    past_due_since = utcnow() - timedelta(hours=73)  # the grace is 72 h
    await subscription(db_session, bob, "past_due", past_due_since)
    alice_key, bob_key = await new_key(api, alice), await new_key(api, bob)

    result = await send_usage(
        api,
        [
            usage_event(key=alice_key),
            usage_event(key=alice_key, timestamp=canceled_at - timedelta(minutes=30)),  # while still active
            usage_event(key=bob_key),
            usage_event(
                key=bob_key, timestamp=utcnow() - timedelta(hours=71)
            ),  # oldest allowed: in grace then
        ],
    )

    assert result["refused_keys"] == [
        {"index": 0, "reason": "subscription_inactive"},
        {"index": 2, "reason": "past_due_grace_expired"},
    ]
    assert await counted(db_session, bob, meter) == 1
    assert await counted(db_session, alice, meter) == 1  # the call made while the subscription was active
    users = [e.user_id for e in await db_session.scalars(select(UsageEvent))]
    assert sorted(user is None for user in users) == [False, False, True, True]


async def test_a_key_of_a_customer_without_a_subscription_still_counts(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], db_session: AsyncSession
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    key = await new_key(api, alice)

    result = await send_usage(api, [usage_event(key=key)])

    assert result["refused_keys"] == [] and result["unattributed"] == []
    assert await counted(db_session, alice, meter) == 1
