"""Report runs: recorded for the console with counts, lag and errors; rate limits retried with the same key;
a rejected Stripe key stops the run without losing usage; the effective (stored) key is the one used."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select

from portal_api.main import services_of
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.reporting.models import ReportStatus, UsageReport
from portal_api.reporting.targets import price_route
from stripe_emulator.testing import EmulatorServer
from tests.api.reporting.world import HOUR, MODES, World, fast_reporting
from tests.fixtures.members import ADMIN

USAGE_RECORDS = r"^/v1/subscription_items/[^/]+/usage_records$"


async def one_reported_hour(world: World, calls: int = 3) -> None:
    [customer] = world.customers or await world.add_customers(1)
    hour = world.now.replace(minute=0, second=0, microsecond=0)
    world.advance_to(hour + timedelta(minutes=40))
    await world.use(customer, hour, calls, minute=39)
    world.advance_to(hour + HOUR + timedelta(minutes=1))


async def statuses(world: World) -> list[str]:
    async with services_of(world.app).database.write_factory() as session:
        return sorted(await session.scalars(select(UsageReport.status)))


async def test_runs_are_listed_with_counts_lag_and_errors(
    world: World, emulator: EmulatorServer, api: httpx.AsyncClient
) -> None:
    await one_reported_hour(world)
    world.use_reporting(fast_reporting(reporting_max_attempts=2))
    emulator.add_fault(USAGE_RECORDS, "error", method="POST", count=1000)

    failing = await world.report()
    emulator.clear_faults()
    healed = await world.report()

    assert (failing.status, failing.sent, failing.failed, failing.retries) == ("partial", 0, 4, 4)
    assert failing.lag_seconds and failing.lag_seconds > 3600  # the hour started over an hour ago
    assert (healed.status, healed.sent, healed.failed, healed.lag_seconds) == ("succeeded", 4, 0, 0)
    response = await api.get("/v1/admin/report-runs", headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    runs = body["data"]
    assert [r["id"] for r in runs] == [healed.run_id, failing.run_id]
    assert runs[1]["status"] == "partial" and runs[1]["failed"] == 4 and runs[1]["lag_seconds"] > 3600
    assert "Emulated fault" in runs[1]["errors"][0]["error"]
    assert runs[0]["sent"] == 4 and runs[0]["errors"] == [] and body["lag_seconds"] == 0
    only_partial = await api.get("/v1/admin/report-runs", params={"status": "partial"}, headers=ADMIN)
    assert [r["id"] for r in only_partial.json()["data"]] == [failing.run_id]


async def test_rate_limited_reports_back_off_and_retry_with_the_same_key(
    world: World, emulator: EmulatorServer
) -> None:
    await one_reported_hour(world, calls=5)
    httpx.post(
        f"{emulator.url}/_emulator/faults",
        json={"path": USAGE_RECORDS, "method": "POST", "mode": "error", "status": 429, "count": 6},
    ).raise_for_status()

    result = await world.report()

    assert (result.status, result.sent, result.retries) == ("succeeded", 4, 6)
    [customer] = world.customers
    for mode in MODES:
        assert world.stripe_quantity(customer, mode) == 5


async def test_a_rejected_stripe_key_fails_the_run_and_the_next_run_reports_everything(
    world: World, api: httpx.AsyncClient
) -> None:
    await one_reported_hour(world)
    stored = await api.put(
        "/v1/admin/billing-provider", json={"secret_key": "sk_live_revoked0000000000"}, headers=ADMIN
    )
    assert stored.status_code == 200, stored.text

    refused = await world.report()

    assert refused.status == "failed"
    assert refused.errors[0]["code"] == "stripe_auth_failed"
    assert "sk_live_revoked" not in str(refused.errors)
    assert await statuses(world) == []  # nothing planned against a key Stripe refuses

    fixed = await api.put(
        "/v1/admin/billing-provider", json={"secret_key": "sk_test_rotated_1234"}, headers=ADMIN
    )
    assert fixed.status_code == 200, fixed.text
    result = await world.report()
    assert (result.status, result.sent) == ("succeeded", 4)
    assert await statuses(world) == [ReportStatus.SENT] * 4
    assert world.stripe_quantity(world.customers[0], ChargeBy.SUM) == 3


async def test_prices_that_cannot_carry_usage_are_named_with_the_reason(
    world: World, emulator: EmulatorServer
) -> None:
    legacy_client = emulator.client(version="2020-08-27")
    product = world.prices[ChargeBy.SUM]["product"]
    meterless = legacy_client.v1.prices.create(
        {
            "product": product,
            "currency": "usd",
            "unit_amount": 1,
            "recurring": {"interval": "month", "usage_type": "metered"},
        }
    )
    licensed = legacy_client.v1.prices.create(
        {"product": product, "currency": "usd", "unit_amount": 500, "recurring": {"interval": "month"}}
    )
    gateway = await services_of(world.app).stripe.gateway()

    basil = await price_route(gateway, "2025-03-31.basil", meterless.id)
    classic = await price_route(gateway, "2020-08-27", meterless.id)
    not_metered = await price_route(gateway, "2020-08-27", licensed.id)
    missing = await price_route(gateway, "2020-08-27", "price_doesnotexist")

    assert basil.kind is None and "has no Billing Meter" in (basil.problem or "")
    assert classic.kind == "usage_record" and classic.problem is None
    assert not_metered.kind is None and "is not metered" in (not_metered.problem or "")
    assert missing.kind is None and "no price price_doesnotexist" in (missing.problem or "")


async def test_a_report_unconfirmed_past_the_idempotency_window_is_not_resent(
    world: World, emulator: EmulatorServer
) -> None:
    await one_reported_hour(world)
    world.use_reporting(fast_reporting(reporting_max_attempts=1, reporting_key_retention_hours=0.0001))
    emulator.add_fault(USAGE_RECORDS, "drop", method="POST", count=4)  # applied, but we never hear back
    first = await world.report()
    await asyncio.sleep(0.5)  # longer than the (shortened) idempotency window

    second = await world.report()

    assert (first.failed, second.expired, second.sent, second.status) == (4, 4, 0, "partial")
    assert "were not re-sent" in second.errors[0]["error"]
    assert await statuses(world) == [ReportStatus.EXPIRED] * 4
    assert world.stripe_quantity(world.customers[0], ChargeBy.SUM) == 3  # applied once, never twice
    assert second.lag_seconds == 0  # expired reports wait for a person, not for the reporter
