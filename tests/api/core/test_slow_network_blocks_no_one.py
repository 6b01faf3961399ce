"""A slow network wait in one request holds up no other, with the API as a real uvicorn process on SQLite
and on PostgreSQL: while the emulator holds one user's checkout (GET /v1/prices/{id}) for 8 s, a client
trickles an ingest body in over 8 s, and a webhook's apply waits 8 s on Stripe, the health check, another
user's keys and profile, a login and a key verification each answer in under a second."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stripe_emulator.testing import EmulatorServer, free_port
from tests.api.checkout.flow import pay_on_hosted_page
from tests.fixtures.database import truncate_all
from tests.fixtures.emulator import EMULATOR_WEBHOOK_SECRET
from tests.fixtures.members import ADMIN_TOKEN, PASSWORD, admin_token, bearer, sign_up

# Each wait (Stripe, a request body, a webhook's apply) lasts HOLD_SECONDS; a probe held up by one would take
# about as long, so FAST leaves room for a loaded machine and still tells the two apart.
HOLD_SECONDS = 10.0
FAST = 2.5
GATEWAY_TOKEN = admin_token("G")
API_ROOT = Path(__file__).resolve().parents[3] / "my-dev-portal-api"


@pytest.fixture
def api_process(database_url: str, emulator: EmulatorServer, tmp_path: Path) -> Iterator[str]:
    # A fresh start: rows an earlier test left (its billing settings, sealed with another SECRET_KEY) would
    # stop this process at startup.
    asyncio.run(truncate_all(database_url))
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "RUN_MIGRATIONS_ON_START": "false",
        "RUN_JOBS_IN_PROCESS": "false",
        "SECRET_KEY": "slow-network-secret-" + "k" * 32,
        "STRIPE_API_BASE": emulator.url,
        "STRIPE_API_KEY": "sk_test_slow_network",
        "STRIPE_API_VERSION": "2020-08-27",
        "STRIPE_MAX_RETRIES": "0",
        "STRIPE_WEBHOOK_SECRET": EMULATOR_WEBHOOK_SECRET,
        "ADMIN_BOOTSTRAP_TOKEN": ADMIN_TOKEN,
        "GATEWAY_BOOTSTRAP_TOKEN": GATEWAY_TOKEN,
        "PORTAL_URL": "http://portal.test",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "DB_TRANSACTION_GUARD": "raise",
    }
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "portal_api.main:create_app", "--factory", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "api.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.05)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


@pytest.fixture
async def client(api_process: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_process, timeout=30) as api:
        yield api


async def subscribed_key(api: httpx.AsyncClient, headers: dict[str, str], price_id: str) -> tuple[str, str]:
    """A real checkout for the user; returns (its first API key, its Stripe customer id)."""
    started = await api.post("/v1/checkout/sessions", json={"price_id": price_id}, headers=headers)
    assert started.status_code == 200, started.text
    checkout_session_id = await pay_on_hosted_page(started.json()["url"])
    completed = await api.post(f"/v1/checkout/sessions/{checkout_session_id}/complete", headers=headers)
    assert completed.status_code == 200, completed.text
    body = completed.json()
    return body["key"]["secret"], body["customer"]["id"]


async def trickle_ingest(url: str, seconds: float) -> int:
    """POST /v1/usage/events whose body arrives a few bytes at a time over `seconds`; the status code."""
    event = {"id": "slow-1", "route": "/v1/x", "method": "GET", "status": 200}
    body = json.dumps({"events": [event]}).encode()
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /v1/usage/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {GATEWAY_TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    pieces = [body[i : i + 4] for i in range(0, len(body), 4)]
    for piece in pieces:
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(seconds / len(pieces))
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def timed(call: Any) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = await call
    return time.monotonic() - started, response


async def test_a_slow_stripe_call_a_trickled_body_and_a_slow_webhook_apply_hold_up_no_one(
    client: httpx.AsyncClient, api_process: str, emulator: EmulatorServer
) -> None:
    catalog = emulator.seed()
    waiter = (await sign_up(client, "waiter@example.com")).headers
    other = (await sign_up(client, "other@example.com")).headers
    key, customer_id = await subscribed_key(client, other, catalog["prices"]["free"])
    assert (await client.post("/v1/keys/verify", json={"key": key}, headers=bearer(GATEWAY_TOKEN))).json()[
        "valid"
    ]

    emulator.add_fault(
        f"/v1/prices/{catalog['prices']['payg']}", "timeout", method="GET", seconds=HOLD_SECONDS
    )
    emulator.add_fault(f"/v1/customers/{customer_id}", "timeout", method="GET", seconds=HOLD_SECONDS)
    event = json.dumps(
        {
            "id": "evt_slow_apply",
            "object": "event",
            "type": "customer.updated",
            "api_version": "2020-08-27",
            "data": {"object": {"id": customer_id, "object": "customer"}},
        }
    )
    started = time.monotonic()
    slow_checkout = asyncio.create_task(
        client.post("/v1/checkout/sessions", json={"price_id": catalog["prices"]["payg"]}, headers=waiter)
    )
    slow_body = asyncio.create_task(trickle_ingest(api_process, HOLD_SECONDS))
    webhook = await client.post(
        "/v1/webhooks/stripe",
        content=event,
        headers={"Content-Type": "application/json", "Stripe-Signature": emulator.sign(event)},
    )
    assert webhook.status_code == 200, webhook.text  # acknowledged; its apply now waits on Stripe
    await asyncio.sleep(0.5)

    gateway = bearer(GATEWAY_TOKEN)
    slowest: dict[str, float] = {}
    for _ in range(3):
        assert not slow_checkout.done() and not slow_body.done()
        for name, call in (
            ("healthz", client.get("/healthz")),
            ("keys", client.get("/v1/keys", headers=other)),
            ("me", client.get("/v1/me", headers=other)),
            (
                "login",
                client.post("/v1/auth/login", json={"email": "waiter@example.com", "password": PASSWORD}),
            ),
            ("verify", client.post("/v1/keys/verify", json={"key": key}, headers=gateway)),
        ):
            seconds, response = await timed(call)
            assert response.status_code == 200, (name, response.text)
            slowest[name] = max(slowest.get(name, 0.0), seconds)
        client.cookies.clear()
        await asyncio.sleep(0.5)
    assert time.monotonic() - started < HOLD_SECONDS  # every probe ran while the three waits were on

    assert all(seconds < FAST for seconds in slowest.values()), slowest
    checkout = await slow_checkout
    assert checkout.status_code == 502  # the emulated timeout ends in Stripe's error, reported as such
    assert await slow_body == 200  # the trickled batch is stored once it has all arrived
    assert time.monotonic() - started >= HOLD_SECONDS - 1
