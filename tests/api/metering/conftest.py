"""Metering test fixtures: the app pointed at the emulator, a collector token, usage and meter helpers.

Helpers send events through the real routes (/v1/usage/events with an admin token, /collector/v1/* with a
collector token) and create meters through /v1/admin/meters, which checks prices against the emulator.
Members (`admin`, `alice`, `bob`) and `catalog` are shared: tests/fixtures/members.py and emulator.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from portal_api.config import Settings
from portal_api.main import services_of
from stripe_emulator.testing import EmulatorServer
from tests.fixtures.emulator import emulator_settings
from tests.fixtures.members import ADMIN, ADMIN_EMAIL, ADMIN_TOKEN, Member


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], emulator: EmulatorServer) -> Settings:
    return emulator_settings(
        settings_factory,
        emulator,
        stripe_api_key="sk_test_metering",
        admin_bootstrap_token=ADMIN_TOKEN,
        admin_emails=ADMIN_EMAIL,
    )


@pytest.fixture
def metering_config(app: Any) -> Settings:
    """The settings the running app reads (free of any local .env); tests may change USAGE_* fields."""
    return services_of(app).settings


@pytest.fixture
async def collector_token(api: httpx.AsyncClient, admin: Member) -> str:
    response = await api.post("/v1/admin/collector-tokens", json={"name": "moesif"}, headers=admin.headers)
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def now() -> datetime:
    return datetime.now(UTC)


def usage_event(**fields: Any) -> dict[str, Any]:
    """An event for /v1/usage/events; defaults to a 200 GET /v1/items/1 just now with a random id."""
    event: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "route": "/v1/items/1",
        "method": "GET",
        "status": 200,
        "timestamp": (now() - timedelta(minutes=1)).isoformat(),
    }
    event.update(fields)
    if isinstance(event.get("timestamp"), datetime):
        event["timestamp"] = event["timestamp"].isoformat()
    return event


async def send_usage(api: httpx.AsyncClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = await api.post("/v1/usage/events", json={"events": events}, headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def moesif_event(**fields: Any) -> dict[str, Any]:
    """A Moesif event model as the SDKs send it (naive UTC times, lower-case headers)."""
    when = fields.pop("time", now() - timedelta(minutes=1))
    headers = fields.pop("headers", {})
    event: dict[str, Any] = {
        "request": {
            "time": when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds"),
            "uri": fields.pop("uri", "https://api.example.com/v1/items/1"),
            "verb": fields.pop("verb", "GET"),
            "ip_address": "203.0.113.9",
            "headers": {"host": "api.example.com", **headers},
            "body": {"q": "x"},
        },
        "response": {
            "time": when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds"),
            "status": fields.pop("status", 200),
            "headers": fields.pop("response_headers", {"content-type": "application/json"}),
        },
        "transaction_id": fields.pop("transaction_id", str(uuid.uuid4())),
        "direction": "Incoming",
        "weight": 1,
    }
    event.update(fields)
    return event


async def create_meter(api: httpx.AsyncClient, admin: Member, price_id: str, **fields: Any) -> dict[str, Any]:
    body = {"name": fields.pop("name", "API calls"), "stripe_price_id": price_id, **fields}
    response = await api.post("/v1/admin/meters", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    meter: dict[str, Any] = response.json()
    return meter


async def usage(api: httpx.AsyncClient, member: Member, **params: str) -> dict[str, Any]:
    response = await api.get("/v1/usage", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def meter_usage(report: dict[str, Any], meter_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in report["meters"] if m["meter_id"] == meter_id)
    return found


def series_total(meter: dict[str, Any]) -> float:
    return float(sum(point["value"] for point in meter["series"]))
