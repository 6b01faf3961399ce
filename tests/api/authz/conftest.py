"""Authz fixtures: the app on the stripe-emulator, an owner, another user and a provider admin (signed in
with Bearer session tokens, so no CSRF Origin is needed), plus the metrics token.

Members, `sign_up` and the admin API token (ADMIN_TOKEN, its headers ADMIN) are in tests/fixtures/members.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from portal_api.config import Settings
from stripe_emulator.testing import EmulatorServer
from tests.fixtures.emulator import emulator_settings
from tests.fixtures.members import ADMIN_EMAIL, ADMIN_TOKEN, Member, sign_up

METRICS_TOKEN = "metrics-" + "q" * 32


@dataclass
class Cast:
    owner: Member
    other: Member
    admin: Member


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], emulator: EmulatorServer) -> Settings:
    return emulator_settings(
        settings_factory,
        emulator,
        stripe_api_key="sk_test_authz",
        admin_bootstrap_token=ADMIN_TOKEN,
        admin_emails=ADMIN_EMAIL,
        metrics_token=METRICS_TOKEN,
        rate_limit_enabled=False,
    )


@pytest.fixture
async def cast(api: httpx.AsyncClient, catalog: dict[str, Any]) -> Cast:
    owner = await sign_up(api, "owner-user@example.com")
    other = await sign_up(api, "other-user@example.com")
    admin = await sign_up(api, ADMIN_EMAIL)
    me = await api.get("/v1/me", headers=admin.headers)
    assert me.json()["is_admin"] is True, me.text
    return Cast(owner=owner, other=other, admin=admin)
