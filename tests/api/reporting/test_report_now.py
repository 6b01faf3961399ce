"""POST /v1/admin/report-runs (report now): one reporter run over the closed hours, for everyone or one meter
and a range, answered with the run; 409 while another run over every customer is in progress here."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from portal_api.main import services_of
from portal_api.metering.meters.metrics import ChargeBy
from portal_api.reporting import report_now as report_now_module
from portal_api.reporting.reporter import UsageReporter
from tests.api.reporting.world import HOUR, MODES, World
from tests.fixtures.members import ADMIN, sign_up


@pytest.fixture
def clock(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Report now reads the wall clock; here it reads the world's (the emulator's) instead."""
    monkeypatch.setattr(report_now_module, "utcnow", lambda: world.now)


async def closed_hour_of_usage(world: World, calls: int = 3) -> datetime:
    [customer] = world.customers or await world.add_customers(1)
    hour = world.now.replace(minute=0, second=0, microsecond=0)
    world.advance_to(hour + timedelta(minutes=40))
    await world.use(customer, hour, calls, minute=39)
    world.advance_to(hour + HOUR + timedelta(minutes=1))
    return hour


async def report_now(api: httpx.AsyncClient, body: dict[str, Any] | None = None) -> httpx.Response:
    return await api.post("/v1/admin/report-runs", json=body, headers=ADMIN)


async def test_report_now_reports_every_closed_hour_and_answers_with_the_run(
    world: World, api: httpx.AsyncClient, clock: None
) -> None:
    await closed_hour_of_usage(world)

    response = await report_now(api)
    again = await report_now(api)

    assert response.status_code == 201, response.text
    run = response.json()
    assert (run["kind"], run["status"], run["planned"], run["sent"], run["failed"]) == (
        "manual",
        "succeeded",
        len(MODES),
        len(MODES),
        0,
    )
    assert run["finished_at"] is not None
    [customer] = world.customers
    assert world.stripe_quantity(customer, ChargeBy.SUM) == 3
    assert again.status_code == 201 and (again.json()["planned"], again.json()["sent"]) == (0, 0)
    listed = (await api.get("/v1/admin/report-runs", headers=ADMIN)).json()["data"]
    assert [r["id"] for r in listed[:2]] == [again.json()["id"], run["id"]]


async def test_report_now_for_one_meter_and_a_range(
    world: World, api: httpx.AsyncClient, clock: None
) -> None:
    hour = await closed_hour_of_usage(world)
    meter = world.meters[ChargeBy.MAX]

    before = await report_now(
        api, {"meter_id": meter, "from": (hour - HOUR).isoformat(), "to": hour.isoformat()}
    )
    one = await report_now(api, {"meter_id": meter, "from": hour.isoformat()})

    assert before.status_code == 201 and before.json()["sent"] == 0  # no usage before the hour
    assert one.status_code == 201, one.text
    assert (one.json()["sent"], one.json()["range_start"]) == (1, hour.isoformat().replace("+00:00", "Z"))
    [customer] = world.customers
    assert world.stripe_quantity(customer, ChargeBy.MAX) == 3
    assert world.stripe_quantity(customer, ChargeBy.SUM) == 0


async def test_report_now_answers_409_while_a_run_is_in_progress(
    world: World, api: httpx.AsyncClient, clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    await closed_hour_of_usage(world)
    reporter: UsageReporter = services_of(world.app).usage_reporter
    gate = asyncio.Event()
    original = reporter.stripe_config

    async def held_config() -> Any:
        await gate.wait()  # the hourly run below stays in progress until the gate opens
        return await original()

    monkeypatch.setattr(reporter, "stripe_config", held_config)
    hourly = asyncio.create_task(reporter.run(kind="hourly", now=world.now))
    for _ in range(100):
        if reporter.active_run() is not None:
            break
        await asyncio.sleep(0)
    assert reporter.active_run() is not None

    busy = await report_now(api)
    gate.set()
    finished = await hourly
    after = await report_now(api)

    assert busy.status_code == 409, busy.text
    error = busy.json()["error"]
    assert error["code"] == "report_run_in_progress"
    assert (
        error["message"].startswith("A report run (hourly run")
        and "in progress in this process" in error["message"]
    )
    assert finished.status == "succeeded" and finished.sent == len(MODES)
    assert after.status_code == 201 and after.json()["sent"] == 0
    assert reporter.active_run() is None


async def test_a_meter_test_in_progress_does_not_block_report_now(
    world: World, api: httpx.AsyncClient, clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    await closed_hour_of_usage(world)
    reporter: UsageReporter = services_of(world.app).usage_reporter
    gate = asyncio.Event()
    original = reporter.stripe_config
    calls = 0

    async def first_call_held() -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            await gate.wait()
        return await original()

    monkeypatch.setattr(reporter, "stripe_config", first_call_held)
    # A run limited to some items (the Meter Test's) is not a run over every customer.
    limited = asyncio.create_task(reporter.run(kind="meter_test", subscription_item_ids=["si_nothing"]))
    for _ in range(100):
        if calls:
            break
        await asyncio.sleep(0)

    response = await report_now(api)
    gate.set()
    await limited

    assert calls == 2
    assert response.status_code == 201, response.text
    assert response.json()["sent"] == len(MODES)


async def test_report_now_refuses_bad_input(world: World, api: httpx.AsyncClient, clock: None) -> None:
    user = await sign_up(api, "dev@example.com")

    unknown = await report_now(api, {"meter_id": "meter_nope"})
    end_only = await report_now(api, {"to": world.now.isoformat()})
    naive = await report_now(api, {"from": "2025-01-01T00:00:00"})
    future = await report_now(api, {"from": (world.now + timedelta(days=1)).isoformat()})
    extra = await report_now(api, {"hours": 3})
    not_admin = await api.post("/v1/admin/report-runs", json={}, headers=user.headers)
    anonymous = await api.post("/v1/admin/report-runs", json={})

    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "meter_not_found"
    assert end_only.status_code == 422 and end_only.json()["error"]["code"] == "invalid_range"
    assert naive.status_code == 422
    assert future.status_code == 422 and future.json()["error"]["code"] == "nothing_to_report"
    assert extra.status_code == 422
    assert not_admin.status_code == 403
    assert anonymous.status_code == 401
