"""Admin tests' fixtures: ADMIN_EMAIL is a provider admin; `user` is an ordinary signed-in user.

The `admin` member itself (signed up as ADMIN_EMAIL) comes from tests/fixtures/members.py.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from portal_api.config import Settings
from tests.fixtures.members import ADMIN_EMAIL, Member, sign_up


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(admin_emails=ADMIN_EMAIL)


@pytest.fixture
async def user(api: httpx.AsyncClient) -> Member:
    return await sign_up(api, "dev@example.com")
