"""The per-account login throttle on SQLite and PostgreSQL: exponential back-off after repeated failures
(429 `login_backoff` with Retry-After, the password not even checked), capped at 15 minutes, cleared by a
success; an attack from many addresses backs off every new address but never the owner's known ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from portal_api.accounts import login_throttle
from portal_api.accounts.models import LoginThrottle
from portal_api.config import Settings
from portal_api.main import services_of

EMAIL = "victim@example.com"
PASSWORD = "correct horse battery"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(rate_limit_enabled=False)  # the per-address limit is tested on its own


async def login(api: httpx.AsyncClient, password: str, address: str) -> httpx.Response:
    response = await api.post(
        "/v1/auth/login", json={"email": EMAIL, "password": password}, headers={"X-Forwarded-For": address}
    )
    api.cookies.clear()
    return response


@pytest.fixture
async def victim(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/auth/signup", json={"email": EMAIL, "password": PASSWORD})).status_code == 201
    api.cookies.clear()


async def age_failures(app: Any, by: timedelta) -> None:
    """As if the latest failures had happened `by` earlier."""
    async with services_of(app).database.write() as session:
        for row in await session.scalars(
            select(LoginThrottle).where(LoginThrottle.last_failure_at.is_not(None))
        ):
            assert row.last_failure_at is not None
            row.last_failure_at -= by


def test_the_back_off_doubles_and_stops_at_fifteen_minutes() -> None:
    waits = [login_throttle.backoff(n, 5).total_seconds() for n in (4, 5, 6, 7, 12, 100)]
    assert waits == [0, 1, 2, 4, 128, 900]


async def test_after_five_failures_an_address_must_wait_even_with_the_right_password(
    api: httpx.AsyncClient, app: Any, victim: None
) -> None:
    failures = [await login(api, "wrong password!", "198.51.100.1") for _ in range(5)]
    held = await login(api, PASSWORD, "198.51.100.1")

    assert [f.status_code for f in failures] == [401] * 5
    assert held.status_code == 429 and held.json()["error"]["code"] == "login_backoff"
    assert held.headers["Retry-After"] == "1"
    await age_failures(app, timedelta(seconds=2))
    assert (await login(api, PASSWORD, "198.51.100.1")).status_code == 200
    # The success cleared the count: five more failures are free again.
    assert [(await login(api, "wrong password!", "198.51.100.1")).status_code for _ in range(5)] == [401] * 5


async def test_the_wait_grows_with_each_failure_and_old_failures_are_forgotten(
    api: httpx.AsyncClient, app: Any, victim: None
) -> None:
    for expected in ([401] * 5, [401], [401]):
        for status in expected:
            response = await login(api, "wrong password!", "198.51.100.2")
            assert response.status_code == status, response.text
        await age_failures(app, timedelta(minutes=20))  # past every wait so far, within a day
    response = await login(api, "wrong password!", "198.51.100.2")
    assert response.status_code == 401  # allowed after the wait; now 8 failures in a row
    held = await login(api, "wrong password!", "198.51.100.2")
    assert held.status_code == 429 and int(held.headers["Retry-After"]) == 8

    await age_failures(app, timedelta(hours=25))
    assert (await login(api, PASSWORD, "198.51.100.2")).status_code == 200


async def test_an_attack_from_many_addresses_holds_up_new_addresses_but_never_the_owners_known_one(
    api: httpx.AsyncClient, victim: None
) -> None:
    assert (await login(api, PASSWORD, "192.0.2.10")).status_code == 200  # the owner's usual address
    for n in range(20):  # 4 failures from each of 5 addresses: no single address backs off
        response = await login(api, f"guess {n}", f"203.0.113.{n % 5}")
        assert response.status_code == 401, response.text

    new_address = await login(api, PASSWORD, "203.0.113.99")
    owner = await login(api, PASSWORD, "192.0.2.10")

    assert new_address.status_code == 429 and new_address.json()["error"]["code"] == "login_backoff"
    assert owner.status_code == 200


async def test_an_unknown_account_is_throttled_like_a_real_one(api: httpx.AsyncClient) -> None:
    answers = [
        (
            await api.post(
                "/v1/auth/login",
                json={"email": "nobody@example.com", "password": "anything at all"},
                headers={"X-Forwarded-For": "198.51.100.9"},
            )
        ).status_code
        for _ in range(6)
    ]
    assert answers == [401] * 5 + [429]
