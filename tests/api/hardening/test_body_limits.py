"""Request body limits: 413 JSON past MAX_BODY_BYTES (declared or streamed); ingest routes get their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from portal_api.config import Settings
from tests.fixtures.members import ADMIN, ADMIN_TOKEN

LIMIT = 4096


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(
        admin_bootstrap_token=ADMIN_TOKEN, max_body_bytes=LIMIT, usage_max_body_bytes=8 * LIMIT
    )


@pytest.fixture
def metering(settings: Settings) -> Settings:
    return settings


async def chunks(total: int, size: int = 1000) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": f"The request body is larger than {limit} bytes",
    }


async def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post("/v1/auth/login", content=b"{" + b" " * LIMIT + b"}")

    assert_too_large(response, LIMIT)
    assert response.headers["x-request-id"]


async def test_a_streamed_body_is_counted_as_it_is_read(api: httpx.AsyncClient) -> None:
    # No Content-Length (chunked): the limit trips while FastAPI reads the body for validation.
    response = await api.post(
        "/v1/auth/login", content=chunks(LIMIT + 1), headers={"Content-Type": "application/json"}
    )

    assert_too_large(response, LIMIT)


async def test_a_body_at_the_limit_goes_through(api: httpx.AsyncClient) -> None:
    body = b'{"email": "a@example.com", "password": "wrong password"}'
    response = await api.post(
        "/v1/auth/login", content=body.ljust(LIMIT), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 401


async def test_ingest_routes_take_usage_max_body_bytes(api: httpx.AsyncClient, metering: Settings) -> None:
    big_but_allowed = b'{"events": []}'.ljust(4 * LIMIT)

    usage = await api.post(
        "/v1/usage/events", content=big_but_allowed, headers={**ADMIN, "Content-Type": "application/json"}
    )
    streamed_too_big = await api.post(
        "/v1/usage/events", content=chunks(metering.usage_max_body_bytes + 1), headers=ADMIN
    )
    collector_too_big = await api.post(
        "/collector/v1/events/batch",
        content=b"[" + b" " * metering.usage_max_body_bytes + b"]",
        headers={"X-Moesif-Application-Id": "mdp_col_x"},
    )

    assert usage.status_code == 200, usage.text
    assert_too_large(streamed_too_big, metering.usage_max_body_bytes)
    assert_too_large(collector_too_big, metering.usage_max_body_bytes)
