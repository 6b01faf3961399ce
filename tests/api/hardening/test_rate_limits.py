"""Rate limits: 429, Retry-After and the JSON error on login, sign-up, verify and ingest, per IP or token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from portal_api.config import Settings
from portal_api.main import create_app
from tests.fixtures.database import running_app
from tests.fixtures.members import ADMIN, ADMIN_TOKEN, PASSWORD, admin_token, bearer

LOGIN = {"email": "nobody@example.com", "password": PASSWORD}


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running_app(settings) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield client


def assert_rate_limited(response: httpx.Response, window_seconds: int = 60) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window_seconds
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and error["message"]
    assert error["details"] == {"retry_after": retry_after}
    return retry_after


async def test_login_is_limited_per_client_ip_and_other_routes_are_not(
    settings_factory: Callable[..., Settings],
) -> None:
    async with client_for(settings_factory(rate_limit_login="3/minute")) as client:
        answers = [await client.post("/v1/auth/login", json=LOGIN) for _ in range(4)]
        other_route = await client.get("/healthz")  # unlimited routes still answer
        metrics = await client.get("/metrics")

    assert [a.status_code for a in answers[:3]] == [401, 401, 401]
    assert_rate_limited(answers[3])
    assert other_route.status_code != 429
    assert 'rate_limited_requests_total{rule="login"} 1.0' in metrics.text


async def test_signup_is_limited_per_client_ip(settings_factory: Callable[..., Settings]) -> None:
    async with client_for(settings_factory(rate_limit_signup="2/hour")) as client:
        answers = [
            await client.post("/v1/auth/signup", json={"email": f"u{i}@example.com", "password": PASSWORD})
            for i in range(3)
        ]

    assert [a.status_code for a in answers[:2]] == [201, 201]
    # Retry-After runs to the end of the hour window (sliding window counter), so any 1..3600 is right.
    assert_rate_limited(answers[2], window_seconds=3600)


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    settings_factory: Callable[..., Settings],
) -> None:
    spoofed = [{"X-Forwarded-For": f"198.51.100.{i}"} for i in range(3)]
    async with client_for(settings_factory(rate_limit_login="2/minute", trusted_proxies="")) as client:
        untrusted = [await client.post("/v1/auth/login", json=LOGIN, headers=h) for h in spoofed]
    async with client_for(
        settings_factory(rate_limit_login="2/minute", trusted_proxies="127.0.0.1")
    ) as client:
        trusted = [await client.post("/v1/auth/login", json=LOGIN, headers=h) for h in spoofed]
        same_client = [
            await client.post("/v1/auth/login", json=LOGIN, headers={"X-Forwarded-For": "203.0.113.5"})
            for _ in range(3)
        ]

    async with client_for(settings_factory(rate_limit_login="2/minute")) as client:  # default: loopback
        from_loopback = [await client.post("/v1/auth/login", json=LOGIN, headers=h) for h in spoofed]

    assert [a.status_code for a in untrusted] == [401, 401, 429]
    assert [a.status_code for a in from_loopback] == [401, 401, 401]
    assert [a.status_code for a in trusted] == [401, 401, 401]  # three clients behind the proxy
    assert [a.status_code for a in same_client] == [401, 401, 429]


async def test_verify_is_limited_per_admin_token(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(admin_bootstrap_token=ADMIN_TOKEN, rate_limit_verify="2/second")
    other_token = bearer(admin_token("z"))
    async with client_for(settings) as client:
        answers = [
            await client.post("/v1/keys/verify", json={"key": "mdp_test_x"}, headers=ADMIN) for _ in range(3)
        ]
        other = await client.post("/v1/keys/verify", json={"key": "mdp_test_x"}, headers=other_token)

    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert_rate_limited(answers[2])
    assert other.status_code == 401  # counted on its own: an unknown token is refused by auth, not the limit


async def test_ingest_is_limited_per_collector_token_and_admin_token(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(admin_bootstrap_token=ADMIN_TOKEN, rate_limit_ingest="1/minute")
    async with client_for(settings) as client:
        collector = {"X-Moesif-Application-Id": "mdp_col_unknown"}
        first = await client.post("/collector/v1/events/batch", json=[], headers=collector)
        second = await client.post("/collector/v1/events/batch", json=[], headers=collector)
        another_collector = await client.post(
            "/collector/v1/events", json={}, headers={"X-Moesif-Application-Id": "mdp_col_other"}
        )
        usage = [await client.post("/v1/usage/events", json={"events": []}, headers=ADMIN) for _ in range(2)]

    assert first.status_code == 401 and another_collector.status_code == 401
    assert_rate_limited(second)
    assert usage[0].status_code == 200
    assert_rate_limited(usage[1])


async def test_an_empty_limit_turns_that_rule_off_and_rate_limit_enabled_false_all_of_them(
    settings_factory: Callable[..., Settings],
) -> None:
    async with client_for(settings_factory(rate_limit_login="", rate_limit_signup="1/hour")) as client:
        logins = [await client.post("/v1/auth/login", json=LOGIN) for _ in range(15)]
    async with client_for(settings_factory(rate_limit_enabled=False, rate_limit_signup="1/hour")) as client:
        signups = [
            await client.post("/v1/auth/signup", json={"email": f"s{i}@example.com", "password": PASSWORD})
            for i in range(2)
        ]

    # No rate limit answered (the per-account login throttle, its own rule, may back off the account).
    codes = [a.json()["error"]["code"] for a in logins]
    assert set(codes) <= {"invalid_credentials", "login_backoff"} and "login_backoff" in codes
    assert [a.status_code for a in signups] == [201, 201]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rate_limit_login", "ten per minute", "RATE_LIMIT_LOGIN"),
        ("trusted_proxies", "10.0.0.0/8,proxy.internal", "TRUSTED_PROXIES"),
        ("csrf_trusted_origins", "portal.example.com", "CSRF origin"),
    ],
)
def test_bad_protection_settings_stop_the_app_at_start_with_a_clear_message(
    settings_factory: Callable[..., Settings], field: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        create_app(settings_factory(**{field: value}))
