"""Portal test fixtures: a fake API client swapped in for the real one, and State instances to drive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import reflex as rx
from reflex.istate.data import ReflexURL, RouterData, SessionData

from my_dev_portal import api_client
from my_dev_portal.config import Settings, get_settings
from my_dev_portal.state.auth import AuthState
from tests.portal.fakes import FakeApi

S = TypeVar("S", bound=rx.State)


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    """Every State handler gets this fake instead of the HTTP client; it remembers the tokens it was given."""
    fake = FakeApi()

    def make_client(token: str = "", *, client_ip: str = "") -> FakeApi:
        fake.tokens.append(token)
        fake.client_ips.append(client_ip)
        return fake

    monkeypatch.setattr(api_client, "make_client", make_client)
    return fake


@pytest.fixture(autouse=True)
def portal_settings(monkeypatch: pytest.MonkeyPatch):
    """Settings from a clean environment: no pricing table unless a test sets one."""
    for name in ("STRIPE_PRICING_TABLE_ID", "STRIPE_PUBLISHABLE_KEY", "API_URL", "PORTAL_URL"):
        monkeypatch.delenv(name, raising=False)
    # A developer's my-dev-portal/.env must not change what the tests see.
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


StateFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
def state() -> StateFactory:
    """`await state(AuthState, url="/login?next=/pricing", token="tok")`: a fresh state tree on that page."""

    async def make(state_cls: type[S], url: str = "/", token: str = "", client_ip: str = "") -> S:
        root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]  # how Reflex itself builds one
        root.router = RouterData(
            url=ReflexURL(f"http://localhost:3000{url}"), session=SessionData(client_ip=client_ip)
        )
        auth = await root.get_state(AuthState)
        auth.token = token
        return await root.get_state(state_cls)

    return make
