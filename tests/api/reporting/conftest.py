"""Reporting test fixtures: the app pointed at the session's stripe-emulator, an admin, the billing World."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from portal_api.config import Settings
from stripe_emulator.testing import EmulatorServer
from tests.api.reporting.world import World

ADMIN_TOKEN = "mdp_admin_" + "r" * 43
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ADMIN_EMAIL = "billing-admin@provider.example.com"
LEGACY = "2020-08-27"
BASIL = "2025-03-31.basil"


@pytest.fixture
def stripe_version() -> str:
    """The pinned Stripe API version; tests parametrize it with BASIL for the Billing Meters path."""
    return LEGACY


@pytest.fixture
def settings(
    settings_factory: Callable[..., Settings], emulator: EmulatorServer, stripe_version: str
) -> Settings:
    return settings_factory(
        stripe_api_base=emulator.url,
        stripe_api_key="sk_test_reporting",
        stripe_api_version=stripe_version,
        stripe_max_retries=0,
        run_jobs_in_process=False,
        admin_bootstrap_token=ADMIN_TOKEN,
        admin_emails=ADMIN_EMAIL,
    )


@pytest.fixture
async def world(app: Any, emulator: EmulatorServer, stripe_version: str) -> World:
    """One price per charge-by mode: legacy aggregate_usage prices, or Billing Meter prices from basil on."""
    built = World(app, emulator, meters_api=stripe_version >= BASIL)
    await built.build_catalog()
    return built


async def sign_up(api: Any, email: str) -> tuple[str, dict[str, str]]:
    """A portal user signed up through the API: (user id, headers with its session token)."""
    response = await api.post("/v1/auth/signup", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    api.cookies.clear()
    body = response.json()
    return body["user"]["id"], {"Authorization": f"Bearer {body['token']}"}
