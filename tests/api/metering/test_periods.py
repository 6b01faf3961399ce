"""GET /v1/usage: hour/day/period boundaries in UTC, the subscription's period, range checks, privacy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from portal_api.core.container import Services
from tests.api.metering.conftest import create_meter, meter_usage, now, send_usage, usage, usage_event
from tests.fixtures.billing import mirror_subscription
from tests.fixtures.members import Member


def last_midnight() -> datetime:
    return now().replace(hour=0, minute=0, second=0, microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_event_just_before_midnight_and_at_midnight_land_in_their_own_hour_and_day(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    await mirror_subscription(services, alice, catalog["prices"]["payg"])
    midnight = last_midnight()
    before, at = midnight - timedelta(milliseconds=1), midnight
    await send_usage(
        api,
        [usage_event(user_id=alice.id, timestamp=before), usage_event(user_id=alice.id, timestamp=at)]
        + [
            usage_event(user_id=alice.id, timestamp=min(at + timedelta(minutes=59, seconds=59), now()))
            for _ in range(2)
        ],
    )
    window = {"from": iso(midnight - timedelta(hours=1)), "to": iso(midnight + timedelta(hours=2))}

    hourly = meter_usage(await usage(api, alice, **window), meter["id"])["series"]
    daily = meter_usage(
        await usage(
            api,
            alice,
            granularity="day",
            **{"from": iso(midnight - timedelta(days=1)), "to": iso(midnight + timedelta(days=1))},
        ),
        meter["id"],
    )["series"]

    assert [(p["start"], p["value"]) for p in hourly] == [
        (iso(midnight - timedelta(hours=1)), 1),
        (iso(midnight), 3),
        (iso(midnight + timedelta(hours=1)), 0),
    ]
    assert [(p["start"], p["value"]) for p in daily] == [
        (iso(midnight - timedelta(days=1)), 1),
        (iso(midnight), 3),
    ]


async def test_subscription_period_decides_what_counts_for_the_period_value(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    midnight = last_midnight()
    period = (midnight, midnight + timedelta(days=30))
    await mirror_subscription(services, alice, catalog["prices"]["payg"], period=period)
    await send_usage(
        api,
        [
            usage_event(user_id=alice.id, timestamp=midnight - timedelta(milliseconds=1)),
            usage_event(user_id=alice.id, timestamp=midnight),
            usage_event(user_id=alice.id, timestamp=midnight + timedelta(seconds=1)),
        ],
    )

    mine = meter_usage(await usage(api, alice), meter["id"])

    assert mine["period_start"] == iso(midnight) and mine["period_end"] == iso(midnight + timedelta(days=30))
    assert mine["period_value"] == 2  # the event at 23:59:59.999 belongs to the previous period
    assert mine["estimated_amount"] == 0 and mine["currency"] == "usd"  # first 1,000 calls are free


async def test_a_subscription_without_a_period_yet_is_shown_over_the_calendar_month(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["package"])
    subscription = await mirror_subscription(
        services, alice, catalog["prices"]["package"], status="incomplete"
    )
    async with services.database.write() as session:
        stored = await session.get(type(subscription), subscription.id)
        assert stored is not None
        stored.current_period_start = stored.current_period_end = None

    mine = meter_usage(await usage(api, alice), meter["id"])

    start = now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    assert (mine["period_start"], mine["period_end"]) == (iso(start), iso(end))
    assert mine["period_value"] == 0 and mine["estimated_amount"] == 0


async def test_estimated_amount_uses_the_meter_price(
    api: httpx.AsyncClient, admin: Member, alice: Member, catalog: dict[str, Any], services: Services
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["package"])  # $10 per 1,000 calls, round up
    await mirror_subscription(services, alice, catalog["prices"]["package"])

    await send_usage(api, [usage_event(user_id=alice.id) for _ in range(3)])

    mine = meter_usage(await usage(api, alice), meter["id"])
    assert mine["period_value"] == 3 and mine["estimated_amount"] == 1000 and mine["currency"] == "usd"


async def test_bad_ranges_are_422(api: httpx.AsyncClient, alice: Member) -> None:
    start = datetime(2025, 1, 10, tzinfo=UTC)
    cases = {
        "invalid_range": {"from": iso(start), "to": iso(start - timedelta(hours=1))},
        "range_too_long": {"from": iso(start), "to": iso(start + timedelta(days=367))},
        "naive_datetime": {"from": "2025-01-10T00:00:00", "to": "2025-01-11T00:00:00"},
    }
    for code, params in cases.items():
        response = await api.get("/v1/usage", params=params, headers=alice.headers)
        assert response.status_code == 422, (code, response.text)
        assert response.json()["error"]["code"] == code
    bad_granularity = await api.get("/v1/usage", params={"granularity": "week"}, headers=alice.headers)
    assert (
        bad_granularity.status_code == 422 and bad_granularity.json()["error"]["code"] == "validation_error"
    )


async def test_usage_needs_sign_in_and_shows_only_the_callers_usage(
    api: httpx.AsyncClient,
    admin: Member,
    alice: Member,
    bob: Member,
    catalog: dict[str, Any],
    services: Services,
) -> None:
    meter = await create_meter(api, admin, catalog["prices"]["payg"])
    for member in (alice, bob):
        await mirror_subscription(services, member, catalog["prices"]["payg"])
    await send_usage(api, [usage_event(user_id=alice.id) for _ in range(5)])

    anonymous = await api.get("/v1/usage")
    as_bob = await api.get(
        "/v1/usage", params={"user_id": alice.id, "customer": alice.id}, headers=bob.headers
    )

    assert anonymous.status_code == 401
    assert as_bob.status_code == 200
    assert meter_usage(as_bob.json(), meter["id"])["period_value"] == 0
    assert all(p["value"] == 0 for p in meter_usage(as_bob.json(), meter["id"])["series"])
