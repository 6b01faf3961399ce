"""Each meter metric end to end: events in through /v1/usage/events, values out of GET /v1/usage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from portal_api.core.container import Services
from stripe_emulator.testing import EmulatorServer
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
from tests.fixtures.emulator import LEGACY
from tests.fixtures.keys import new_key_secret
from tests.fixtures.members import Member


async def test_event_count_counts_matching_events(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    meter = await create_meter(
        api, admin, catalog["prices"]["payg"], filters={"field": "status", "value": "2xx"}
    )
    await mirror_subscription(services, alice, meter["stripe_price_id"])

    await send_usage(api, [usage_event(user_id=alice.id, status=s) for s in (200, 201, 404, 500, 204)])

    assert meter_usage(await usage(api, alice), meter["id"])["period_value"] == 3


async def test_unique_users_counts_distinct_end_users_over_the_period(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    catalog: dict[str, Any],
    db_session: Any,
    services: Services,
) -> None:
    from portal_api.billing.models import Customer

    db_session.add(Customer(user_id=alice.id, stripe_customer_id="cus_alice", email=alice.email))
    await db_session.commit()
    meter = await create_meter(api, admin, catalog["prices"]["payg"], metric={"type": "unique_users"})
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    earlier = now() - timedelta(hours=3)
    events = [
        # alice's own end users reach us as (company = her Stripe customer, user = their id)
        usage_event(customer="cus_alice", user_id="end-user-1", timestamp=earlier),
        usage_event(customer="cus_alice", user_id="end-user-1", timestamp=earlier),
        usage_event(customer="cus_alice", user_id="end-user-2", timestamp=earlier),
        usage_event(customer="cus_alice", user_id="end-user-1"),
        usage_event(customer="cus_alice", user_id="end-user-3"),
    ]

    await send_usage(api, events)

    mine = meter_usage(await usage(api, alice), meter["id"])
    assert mine["period_value"] == 3  # distinct over the period, not the sum of hourly distincts
    assert series_total(mine) == 4  # 2 distinct in the earlier hour + 2 in the latest
    daily = meter_usage(await usage(api, alice, granularity="day"), meter["id"])
    assert max(p["value"] for p in daily["series"]) >= 2


async def test_unique_sessions_uses_session_token_else_api_key(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"], metric={"type": "unique_sessions"})
    await mirror_subscription(services, alice, meter["stripe_price_id"])
    key_one, key_two = await new_key_secret(api, alice), await new_key_secret(api, alice)

    await send_usage(
        api,
        [
            usage_event(key=key_one, session="s-1"),
            usage_event(key=key_one, session="s-1"),
            usage_event(key=key_one, session="s-2"),
            usage_event(key=key_one),
            usage_event(key=key_one),
            usage_event(key=key_two),
        ],
    )

    assert (
        meter_usage(await usage(api, alice), meter["id"])["period_value"] == 4
    )  # s-1, s-2, key one, key two


async def test_sum_of_a_metadata_field_and_of_weight(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    tokens = await create_meter(
        api,
        admin,
        catalog["prices"]["payg"],
        name="Tokens",
        metric={"type": "sum", "field": "metadata.tokens"},
    )
    weighted = await create_meter(
        api,
        admin,
        catalog["prices"]["package"],
        name="Sampled calls",
        metric={"type": "sum", "field": "weight"},
    )
    await mirror_subscription(services, alice, catalog["prices"]["payg"], catalog["prices"]["package"])

    await send_usage(
        api,
        [
            usage_event(user_id=alice.id, properties={"tokens": 120}, weight=2),
            usage_event(user_id=alice.id, properties={"tokens": "30.5"}),
            usage_event(user_id=alice.id, properties={"tokens": "n/a"}),  # not a number: adds nothing
            usage_event(user_id=alice.id),
        ],
    )

    report = await usage(api, alice)
    assert meter_usage(report, tokens["id"])["period_value"] == 150.5
    assert meter_usage(report, weighted["id"])["period_value"] == 5


async def test_max_and_last_charge_by_use_hourly_values(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    catalog: dict[str, Any],
    emulator: EmulatorServer,
    services: Services,
) -> None:
    sdk = emulator.client(version=LEGACY)
    prices = {
        mode: sdk.v1.prices.create(
            {
                "product": catalog["product"],
                "currency": "usd",
                "unit_amount": 100,
                "recurring": {"interval": "month", "usage_type": "metered", "aggregate_usage": mode},
            }
        ).id
        for mode in ("max", "last_during_period")
    }
    peak = await create_meter(api, admin, prices["max"], name="Peak")
    last = await create_meter(api, admin, prices["last_during_period"], name="Last")
    await mirror_subscription(services, alice, prices["max"], prices["last_during_period"])
    two_hours_ago = now() - timedelta(hours=2)
    await send_usage(
        api,
        [usage_event(user_id=alice.id, timestamp=two_hours_ago) for _ in range(5)]
        + [usage_event(user_id=alice.id) for _ in range(2)],
    )

    report = await usage(api, alice)
    peak_usage, last_usage = meter_usage(report, peak["id"]), meter_usage(report, last["id"])

    assert peak_usage["charge_by"] == "max_during_period" and last_usage["charge_by"] == "last_during_period"
    if two_hours_ago >= now().replace(day=1, hour=0, minute=0, second=0, microsecond=0):
        assert peak_usage["period_value"] == 5 and peak_usage["estimated_amount"] == 500
        assert last_usage["period_value"] == 2 and last_usage["estimated_amount"] == 200
