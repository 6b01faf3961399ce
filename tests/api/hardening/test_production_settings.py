"""ENVIRONMENT=production refuses unsafe settings at start with a clear message: an open /metrics (unless
METRICS_PUBLIC says so on purpose), cookies without Secure behind an https PORTAL_URL, the development
SECRET_KEY; and it believes X-Forwarded-For from configured proxies only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from portal_api.config import DEV_SECRET_KEY, Settings
from portal_api.main import create_app
from portal_api.protection.client_ip import ClientAddresses

SAFE: dict[str, Any] = {
    "environment": "production",
    "metrics_token": "metrics-" + "m" * 32,
    "portal_url": "https://portal.example.com",
    "cookie_secure": True,
}


@pytest.fixture
def production(settings_factory: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return settings_factory(**{**SAFE, **overrides})

    return make


def test_safe_production_settings_start(production: Callable[..., Settings]) -> None:
    assert production().production_problems() == []
    create_app(production())
    create_app(production(metrics_token="", metrics_public=True))
    create_app(production(metrics_token="", metrics_enabled=False))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"metrics_token": ""}, "METRICS_TOKEN"),
        ({"cookie_secure": False}, "COOKIE_SECURE must be true"),
        ({"secret_key": DEV_SECRET_KEY}, "SECRET_KEY"),
    ],
)
def test_unsafe_production_settings_refuse_to_start_saying_what_to_change(
    production: Callable[..., Settings], overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(RuntimeError, match="Refusing to start with ENVIRONMENT=production") as refused:
        create_app(production(**overrides))
    assert message in str(refused.value)


def test_outside_production_the_same_settings_start(settings_factory: Callable[..., Settings]) -> None:
    create_app(
        settings_factory(metrics_token="", portal_url="https://portal.example.com", cookie_secure=False)
    )


def scope(peer: str, forwarded: str) -> dict[str, Any]:
    return {"client": (peer, 5000), "headers": [(b"x-forwarded-for", forwarded.encode())]}


def test_in_production_forwarding_headers_are_believed_only_from_configured_proxies(
    production: Callable[..., Settings], settings_factory: Callable[..., Settings]
) -> None:
    unset = ClientAddresses(production().forwarding_proxies)
    configured = ClientAddresses(production(trusted_proxies="10.0.0.5").forwarding_proxies)
    development = ClientAddresses(settings_factory().forwarding_proxies)

    # A caller on the proxy's own host (loopback) rotating X-Forwarded-For gets its own address in production.
    assert unset.of(scope("127.0.0.1", "203.0.113.7")) == "127.0.0.1"
    assert configured.of(scope("10.0.0.5", "203.0.113.7")) == "203.0.113.7"
    assert configured.of(scope("127.0.0.1", "203.0.113.7")) == "127.0.0.1"
    assert development.of(scope("127.0.0.1", "203.0.113.7")) == "203.0.113.7"  # the portal on this host
