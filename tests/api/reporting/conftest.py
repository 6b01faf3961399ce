"""Reporting test fixtures: the app pointed at the session's stripe-emulator, an admin, the billing World.

The admin token, members and `sign_up` are in tests/fixtures/members.py; LEGACY and BASIL in emulator.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from portal_api.config import Settings
from stripe_emulator.testing import EmulatorServer
from tests.api.reporting.world import World
from tests.fixtures.emulator import BASIL, LEGACY, emulator_settings
from tests.fixtures.members import ADMIN_EMAIL, ADMIN_TOKEN


@pytest.fixture
def stripe_version() -> str:
    """The pinned Stripe API version; tests parametrize it with BASIL for the Billing Meters path."""
    return LEGACY


@pytest.fixture
def settings(
    settings_factory: Callable[..., Settings], emulator: EmulatorServer, stripe_version: str
) -> Settings:
    return emulator_settings(
        settings_factory,
        emulator,
        stripe_api_key="sk_test_reporting",
        stripe_api_version=stripe_version,
        admin_bootstrap_token=ADMIN_TOKEN,
        admin_emails=ADMIN_EMAIL,
    )


@pytest.fixture
async def world(app: Any, emulator: EmulatorServer, stripe_version: str) -> World:
    """One price per charge-by mode: legacy aggregate_usage prices, or Billing Meter prices from basil on."""
    built = World(app, emulator, meters_api=stripe_version >= BASIL)
    await built.build_catalog()
    return built
