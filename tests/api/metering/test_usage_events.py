"""POST /v1/usage/events: attribution, dedupe, per-event rejections, lateness, as GET /v1/usage shows."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing.models import Customer
from portal_api.config import Settings
from portal_api.core.container import Services
from portal_api.metering.models import UsageEvent
from tests.api.metering.conftest import (
    create_meter,
    meter_usage,
    now,
    send_usage,
    series_total,
    usage,
    usage_event,
)
from tests.fixtures.billing import mirror_subscription
from tests.fixtures.keys import new_key_secret
from tests.fixtures.members import ADMIN, Member


async def test_events_attributed_by_key_count_for_that_customer_only(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    bob: Member,
    catalog: dict[str, Any],
    services: Services,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    await mirror_subscription(services, bob, meter["stripe_price_id"])
    alice_key = await new_key_secret(api, alice)

    result = await send_usage(api, [usage_event(key=alice_key) for _ in range(3)])

    assert result == {
        "received": 3,
        "accepted": 3,
        "duplicates": [],
        "unattributed": [],
        "rejected": [],
        "refused_keys": [],
    }
    mine = meter_usage(await usage(api, alice), meter["id"])
    theirs = meter_usage(await usage(api, bob), meter["id"])
    assert mine["period_value"] == 3 and series_total(mine) == 3
    assert theirs["period_value"] == 0 and series_total(theirs) == 0


async def test_attribution_by_user_id_email_and_stripe_customer(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    catalog: dict[str, Any],
    db_session: AsyncSession,
    services: Services,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    db_session.add(Customer(user_id=alice.id, stripe_customer_id="cus_alice123", email=alice.email))
    await db_session.commit()

    result = await send_usage(
        api,
        [
            usage_event(user_id=alice.id),
            usage_event(user_id="ALICE@example.com"),
            usage_event(customer="cus_alice123"),
            usage_event(user_id="someone-else"),
        ],
    )

    assert result["accepted"] == 4 and result["unattributed"] == [3]
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 3


async def test_resent_event_is_acknowledged_as_duplicate_and_counted_once(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    catalog: dict[str, Any],
    db_session: AsyncSession,
    services: Services,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    event = usage_event(user_id=alice.id)

    first = await send_usage(api, [event])
    again = await send_usage(api, [event, usage_event(user_id=alice.id), event])

    assert first["accepted"] == 1
    assert again["accepted"] == 1 and again["duplicates"] == [0, 2]
    stored = await db_session.scalar(select(func.count()).select_from(UsageEvent))
    await db_session.rollback()  # end the read transaction (SQLite takes the write lock at BEGIN)
    assert stored == 2
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 2


async def test_concurrent_overlapping_batches_store_and_count_each_event_once(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    catalog: dict[str, Any],
    db_session: AsyncSession,
    services: Services,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    events = [usage_event(user_id=alice.id) for _ in range(60)]
    batches = [events[i : i + 30] for i in range(0, 60, 10)]  # every event is in up to three batches

    results = await asyncio.gather(*(send_usage(api, batch) for batch in batches))

    assert sum(r["accepted"] for r in results) == 60
    assert sum(len(r["duplicates"]) for r in results) == sum(len(b) for b in batches) - 60
    assert await db_session.scalar(select(func.count()).select_from(UsageEvent)) == 60
    await db_session.rollback()
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 60


async def test_bad_and_late_events_are_rejected_one_by_one_and_good_ones_kept(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    catalog: dict[str, Any],
    metering_config: Settings,
    services: Services,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    metering_config.usage_lateness_hours = 24
    events = [
        usage_event(user_id=alice.id),
        usage_event(user_id=alice.id, timestamp=now() - timedelta(hours=25)),
        usage_event(user_id=alice.id, timestamp=(now() - timedelta(minutes=5)).replace(tzinfo=None)),
        {"id": "no-route", "method": "GET", "timestamp": now().isoformat()},
        usage_event(user_id=alice.id, timestamp=now() + timedelta(hours=2)),
        "not an object",
        usage_event(user_id=alice.id, status=700),
        usage_event(user_id=alice.id, route="/v1/search\x00"),
        usage_event(user_id=alice.id),
    ]

    result = await send_usage(api, events)

    assert result["accepted"] == 2
    codes = {r["index"]: r["code"] for r in result["rejected"]}
    assert codes == {
        1: "too_late",
        2: "naive_timestamp",
        3: "invalid_event",
        4: "in_future",
        5: "invalid_event",
        6: "invalid_event",
        7: "invalid_event",
    }
    messages = {r["index"]: r["message"] for r in result["rejected"]}
    assert "24 h lateness window" in messages[1] and "route" in messages[3] and "status" in messages[6]
    assert "NUL" in messages[7]
    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 2


async def test_usage_events_needs_an_admin_token_and_a_well_formed_batch(
    api: httpx.AsyncClient, alice: Member, metering_config: Settings
) -> None:
    metering_config.usage_max_batch_events = 5
    no_token = await api.post("/v1/usage/events", json={"events": []})
    user_token = await api.post("/v1/usage/events", json={"events": []}, headers=alice.headers)
    not_a_batch = await api.post("/v1/usage/events", json=[usage_event()], headers=ADMIN)
    too_many = await api.post("/v1/usage/events", json={"events": [usage_event()] * 6}, headers=ADMIN)
    broken = await api.post(
        "/v1/usage/events", content=b"{not json", headers={**ADMIN, "content-type": "application/json"}
    )

    assert no_token.status_code == 401 and no_token.json()["error"]["code"] == "unauthorized"
    assert user_token.status_code == 401
    assert not_a_batch.status_code == 422 and not_a_batch.json()["error"]["code"] == "invalid_batch"
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "batch_too_large"
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"


async def test_api_keys_are_never_stored_in_events(
    api: httpx.AsyncClient, alice: Member, db_session: AsyncSession
) -> None:
    key = await new_key_secret(api, alice)
    sent_at = (now() - timedelta(minutes=3)).replace(microsecond=123456)

    await send_usage(api, [usage_event(key=key, properties={"note": "hello"}, timestamp=sent_at)])

    row = (await db_session.execute(select(UsageEvent))).scalar_one()
    assert row.occurred_at == sent_at and row.occurred_at.tzinfo is not None
    assert row.user_id == alice.id and row.attributed_by == "api_key" and row.api_key_id
    assert key not in row.payload and key not in (row.session_key or "")
