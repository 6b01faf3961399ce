"""Portal test fixtures: a fake API client swapped in for the real one, and State instances to drive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import reflex as rx

from my_dev_portal import api_client, session_cookie
from my_dev_portal.config import Settings, get_settings
from my_dev_portal.session_cookie import MemoryHandoffs
from tests.portal.fakes import BROWSER_ID, FakeApi, open_websocket

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


@pytest.fixture(autouse=True)
def handoffs(monkeypatch: pytest.MonkeyPatch) -> MemoryHandoffs:
    """A fresh hand-off store per test, shared by the states and the session routes."""
    store = MemoryHandoffs()
    monkeypatch.setattr(session_cookie, "handoffs", lambda: store)
    return store


StateFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
def state() -> StateFactory:
    """`await state(AuthState, url="/login?next=/pricing", token="tok")`: a fresh state tree on that page.

    `token` is the session cookie the browser's websocket was opened with; `browser` its browser id.
    """

    async def make(
        state_cls: type[S], url: str = "/", token: str = "", client_ip: str = "", browser: str = BROWSER_ID
    ) -> S:
        root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]  # how Reflex itself builds one
        open_websocket(root, url, token=token, browser=browser, client_ip=client_ip)
        return await root.get_state(state_cls)

    return make
