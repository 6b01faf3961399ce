"""The billing provider settings are the one Stripe configuration: a key or signing secret saved in the
console is what every path uses (checkout, plans, the billing portal, invoices, webhook verification and
apply, reconciliation), in this process at once and in another within seconds; a rotated signing secret
keeps working for its grace period; STRIPE_* only seed the settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import update

from portal_api.billing_provider.models import BillingProviderConfig
from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.main import services_of
from stripe_emulator.testing import EmulatorServer
from tests.api.checkout.flow import (
    complete,
    deliver_webhooks,
    settings,
    start_checkout,
    stripe_sdk,
    subscribe,
)
from tests.api.webhooks.test_stripe_webhooks import post_event, unknown_event
from tests.fixtures.database import running_app
from tests.fixtures.emulator import EMULATOR_WEBHOOK_SECRET
from tests.fixtures.members import ADMIN, sign_up

__all__ = ["settings", "stripe_sdk"]  # fixtures used here

PATH = "/v1/admin/billing-provider"
CONSOLE_KEY = "sk_test_saved_in_the_console_9876"
CONSOLE_SECRET = "whsec_saved_in_the_console"


async def save(api: httpx.AsyncClient, **fields: str) -> dict[str, Any]:
    response = await api.put(PATH, json=fields, headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def keys_used(emulator: EmulatorServer, since: int = 0) -> set[str]:
    return {entry["key_last4"] for entry in emulator.requests()[since:]}


async def test_a_webhook_signed_with_the_secret_saved_in_the_console_is_accepted(
    api: httpx.AsyncClient, emulator: EmulatorServer
) -> None:
    await save(api, webhook_secret=CONSOLE_SECRET)
    payload = unknown_event("evt_console_secret")

    accepted = await post_event(api, payload, emulator.sign(payload, secret=CONSOLE_SECRET))
    forged = await post_event(api, payload, emulator.sign(payload, secret="whsec_someone_else"))

    assert accepted.status_code == 200, accepted.text
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_signature"


async def test_the_replaced_signing_secret_is_accepted_during_its_grace_period_and_refused_after(
    api: httpx.AsyncClient, app: Any, emulator: EmulatorServer
) -> None:
    saved = await save(api, webhook_secret=CONSOLE_SECRET)
    until = saved["webhook"]["previous_secret_accepted_until"]
    assert until is not None  # 24 h by default, as Stripe's longest roll
    old = unknown_event("evt_old_secret_in_grace")

    in_grace = await post_event(api, old, emulator.sign(old, secret=EMULATOR_WEBHOOK_SECRET))
    async with services_of(app).database.write() as session:
        await session.execute(
            update(BillingProviderConfig).values(
                previous_webhook_secret_expires_at=utcnow() - timedelta(seconds=1)
            )
        )
    services_of(app).stripe.forget()
    late = unknown_event("evt_old_secret_after_grace")
    after_grace = await post_event(api, late, emulator.sign(late, secret=EMULATOR_WEBHOOK_SECRET))
    current = await post_event(api, late, emulator.sign(late, secret=CONSOLE_SECRET))

    assert in_grace.status_code == 200, in_grace.text
    assert after_grace.status_code == 400 and after_grace.json()["error"]["code"] == "invalid_signature"
    assert current.status_code == 200, current.text


async def test_after_a_key_change_in_the_console_every_stripe_call_uses_the_new_key(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    before = await sign_up(api, "before@example.com")
    await start_checkout(api, before, catalog["prices"]["payg"])
    assert keys_used(emulator) == {"test"}  # STRIPE_API_KEY=sk_test_portal_under_test
    # The same Stripe account's other key (the emulator has one account, as a rolled key would be).
    await save(api, secret_key=CONSOLE_KEY)
    mark = len(emulator.requests())

    member = await sign_up(api, "after@example.com")
    assert (await api.get("/v1/plans")).status_code == 200
    checkout_session_id = await subscribe(api, member, catalog["prices"]["payg"])
    assert (await complete(api, member, checkout_session_id)).status_code == 200
    assert all(r.status_code == 200 for r in await deliver_webhooks(api, emulator))
    assert (await api.post("/v1/billing-portal", headers=member.headers)).status_code == 200
    assert (await api.get("/v1/invoices/upcoming", headers=member.headers)).status_code == 200
    assert (await api.post("/v1/admin/reconciliation-runs", headers=ADMIN)).status_code == 201
    assert (await api.get("/v1/admin/health", headers=ADMIN)).json()["stripe"]["status"] == "ok"

    used = emulator.requests()[mark:]
    # The hosted checkout page (the customer's browser) is not us; every API call of ours used the new key.
    paths = {entry["path"] for entry in used}
    assert {"/v1/checkout/sessions", "/v1/billing_portal/sessions", "/v1/invoices/upcoming"} <= paths
    assert keys_used(emulator, mark) == {CONSOLE_KEY[-4:]}


async def test_a_change_saved_by_one_process_is_used_by_another_within_seconds(
    api: httpx.AsyncClient,
    settings_factory: Callable[..., Settings],
    settings: Settings,
    catalog: dict[str, Any],
    emulator: EmulatorServer,
) -> None:
    other_settings = settings.model_copy(update={"stripe_config_refresh_seconds": 1.0})
    async with running_app(other_settings) as other:
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as other_api:
            assert (await other_api.get("/v1/plans")).status_code == 200  # configuration and plans cached
            services_of(other).plan_catalog.invalidate()
            await save(api, secret_key=CONSOLE_KEY)
            saved_at = time.monotonic()
            while True:
                mark = len(emulator.requests())
                services_of(other).plan_catalog.invalidate()
                assert (await other_api.get("/v1/plans")).status_code == 200
                if keys_used(emulator, mark) == {CONSOLE_KEY[-4:]}:
                    break
                assert time.monotonic() - saved_at < 3, "the other process still uses the old key"
                await asyncio.sleep(0.1)


async def test_stripe_settings_follow_the_environment_until_saved_in_the_console(
    api: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    restarted = settings.model_copy(update={"stripe_api_key": SecretStr("sk_test_rotated_in_the_env_5555")})
    async with running_app(restarted):
        pass  # a restart with a changed environment, nothing saved in the console yet
    services_of(app).stripe.forget()
    followed = await api.get(PATH, headers=ADMIN)
    await save(api, secret_key=CONSOLE_KEY)
    async with running_app(
        settings.model_copy(update={"stripe_api_key": SecretStr("sk_test_yet_another_7777")})
    ):
        pass
    services_of(app).stripe.forget()
    kept = await api.get(PATH, headers=ADMIN)

    assert (followed.json()["source"], followed.json()["secret_key_last4"]) == ("environment", "5555")
    assert (kept.json()["source"], kept.json()["secret_key_last4"]) == ("database", "9876")
    assert (await services_of(app).stripe.config()).api_key.get_secret_value() == CONSOLE_KEY
