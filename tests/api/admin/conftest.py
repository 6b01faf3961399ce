"""Admin tests' fixtures: a provider admin (by ADMIN_EMAILS) and an ordinary user, both signed in."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from portal_api.config import Settings
from tests.api.keys.conftest import Member, sign_up

ADMIN_EMAIL = "admin@example.com"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(admin_emails=ADMIN_EMAIL)


@pytest.fixture
async def admin(api: httpx.AsyncClient) -> Member:
    return await sign_up(api, ADMIN_EMAIL)


@pytest.fixture
async def user(api: httpx.AsyncClient) -> Member:
    return await sign_up(api, "dev@example.com")
