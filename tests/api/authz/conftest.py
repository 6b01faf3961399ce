"""Authz fixtures: the app on the stripe-emulator, an owner, another user and a provider admin (signed in
with Bearer session tokens, so no CSRF Origin is needed), plus the admin API token and metrics token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from portal_api.config import Settings
from stripe_emulator.testing import EmulatorServer

API_VERSION = "2020-08-27"
ADMIN_TOKEN = "mdp_admin_" + "z" * 43
ADMIN_API = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ADMIN_EMAIL = "owner@provider.example.com"
METRICS_TOKEN = "metrics-" + "q" * 32
PASSWORD = "correct horse battery"


@dataclass
class Member:
    id: str
    email: str
    headers: dict[str, str]


@dataclass
class Cast:
    owner: Member
    other: Member
    admin: Member


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], emulator: EmulatorServer) -> Settings:
    return settings_factory(
        stripe_api_base=emulator.url,
        stripe_api_key="sk_test_authz",
        stripe_api_version=API_VERSION,
        stripe_max_retries=0,
        run_jobs_in_process=False,
        admin_bootstrap_token=ADMIN_TOKEN,
        admin_emails=ADMIN_EMAIL,
        metrics_token=METRICS_TOKEN,
        rate_limit_enabled=False,
    )


@pytest.fixture
def catalog(emulator: EmulatorServer) -> dict[str, Any]:
    """The demo catalog: {"product", "prices": {"free", "payg", "package"}}."""
    return emulator.seed()


async def sign_up(api: httpx.AsyncClient, email: str) -> Member:
    response = await api.post("/v1/auth/signup", json={"email": email, "password": PASSWORD, "name": "N"})
    assert response.status_code == 201, response.text
    api.cookies.clear()  # every call says who it is with an explicit bearer token
    body = response.json()
    return Member(id=body["user"]["id"], email=email, headers={"Authorization": f"Bearer {body['token']}"})


@pytest.fixture
async def cast(api: httpx.AsyncClient, catalog: dict[str, Any]) -> Cast:
    owner = await sign_up(api, "owner-user@example.com")
    other = await sign_up(api, "other-user@example.com")
    admin = await sign_up(api, ADMIN_EMAIL)
    me = await api.get("/v1/me", headers=admin.headers)
    assert me.json()["is_admin"] is True, me.text
    return Cast(owner=owner, other=other, admin=admin)
