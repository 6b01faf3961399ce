"""GET/PUT /v1/admin/billing-provider: Stripe keys stored encrypted and never shown, the API version
validated, the webhook URL and whether events arrive, environment values until something is saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from portal_api.billing_provider.crypto import SecretBox
from portal_api.config import Settings
from portal_api.main import services_of
from portal_api.webhooks.models import WebhookEvent
from tests.fixtures.members import ADMIN, ADMIN_TOKEN, sign_up

SECRET = "sk_test_51HxY7LNewSecretKeyForTests9876"
PATH = "/v1/admin/billing-provider"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(
        stripe_api_key="sk_test_fromtheenvironment1111",
        stripe_api_version="2020-08-27",
        stripe_webhook_secret="whsec_fromtheenvironment",
        api_url="https://api.portal.example.com",
        admin_bootstrap_token=ADMIN_TOKEN,
        run_jobs_in_process=False,
    )


async def stored_row(app: Any) -> dict[str, Any]:
    async with services_of(app).database.engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM billing_provider_settings"))).mappings().one()
        return dict(row)


async def test_without_saved_settings_the_environment_applies(api: httpx.AsyncClient) -> None:
    response = await api.get(PATH, headers=ADMIN)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "environment"
    assert (body["secret_key_set"], body["secret_key_last4"], body["mode"]) == (True, "1111", "test")
    assert body["api_version"] == "2020-08-27" and body["reporting"] == "usage_records"
    assert body["webhook"] == {
        "url": "https://api.portal.example.com/v1/webhooks/stripe",
        "signing_secret_set": True,
        "previous_secret_accepted_until": None,
        "last_received_at": None,
        "received_last_24h": 0,
        "arriving": False,
    }
    assert "fromtheenvironment" not in response.text


async def test_saved_keys_are_encrypted_at_rest_and_never_returned(api: httpx.AsyncClient, app: Any) -> None:
    response = await api.put(
        PATH,
        json={
            "secret_key": SECRET,
            "publishable_key": "pk_test_51HxY7LPublishable",
            "api_version": "2025-03-31.basil",
            "webhook_secret": "whsec_savedsigningsecret",
        },
        headers=ADMIN,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "database" and body["secret_key_last4"] == "9876"
    assert body["api_version"] == "2025-03-31.basil" and body["reporting"] == "billing_meters"
    assert body["publishable_key"] == "pk_test_51HxY7LPublishable"
    assert body["updated_by"].startswith("token:")
    assert SECRET not in response.text and "savedsigningsecret" not in response.text
    assert SECRET not in (await api.get(PATH, headers=ADMIN)).text
    row = await stored_row(app)
    assert SECRET not in str(row) and "savedsigningsecret" not in str(row)
    box = SecretBox(services_of(app).settings.secret_key.get_secret_value())
    assert box.decrypt(row["secret_key_encrypted"]) == SECRET
    config = await services_of(app).stripe.config()  # in force at once in this process
    assert config.api_key.get_secret_value() == SECRET
    assert config.webhook_secret.get_secret_value() == "whsec_savedsigningsecret"


async def test_fields_left_out_are_kept_and_empty_ones_fall_back_to_the_environment(
    api: httpx.AsyncClient,
) -> None:
    await api.put(PATH, json={"secret_key": SECRET}, headers=ADMIN)

    version_only = await api.put(PATH, json={"api_version": "2024-06-20"}, headers=ADMIN)
    cleared = await api.put(PATH, json={"secret_key": ""}, headers=ADMIN)

    assert version_only.json()["secret_key_last4"] == "9876"
    assert version_only.json()["api_version"] == "2024-06-20"
    assert cleared.json()["secret_key_last4"] == "1111"  # the environment's key again
    assert cleared.json()["api_version"] == "2024-06-20"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"api_version": "2020-13-45"}, "invalid_api_version"),
        ({"api_version": "last tuesday"}, "invalid_api_version"),
        ({"api_version": "2025-03-31.Basil!"}, "invalid_api_version"),
        ({"secret_key": "pk_test_notasecretkey"}, "invalid_secret_key"),
        ({"publishable_key": "sk_test_notpublishable"}, "invalid_publishable_key"),
        ({"webhook_secret": "not-a-signing-secret"}, "invalid_webhook_secret"),
        ({"secret_key": "sk_live_abcdefgh", "publishable_key": "pk_test_abcdefgh"}, "key_mode_mismatch"),
        ({"provider": "paddle"}, "validation_error"),
        ({"secret": SECRET}, "validation_error"),
    ],
)
async def test_bad_settings_are_refused_with_a_clear_error(
    api: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    response = await api.put(PATH, json=body, headers=ADMIN)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert (await api.get(PATH, headers=ADMIN)).json()["source"] == "environment"


async def test_the_webhook_status_says_whether_events_arrive(api: httpx.AsyncClient, app: Any) -> None:
    async with services_of(app).database.write() as session:
        session.add(WebhookEvent(id="evt_1", type="invoice.paid", payload="{}", attempts=0))

    body = (await api.get(PATH, headers=ADMIN)).json()["webhook"]

    assert body["received_last_24h"] == 1 and body["arriving"] is True
    assert body["last_received_at"] is not None


async def test_a_changed_secret_key_makes_stored_secrets_unreadable_with_a_clear_error(
    api: httpx.AsyncClient, app: Any
) -> None:
    await api.put(PATH, json={"secret_key": SECRET}, headers=ADMIN)
    # As if SECRET_KEY had been changed since the key was saved.
    foreign = SecretBox("the-previous-secret-key-" + "z" * 32).encrypt(SECRET)
    async with services_of(app).database.write() as session:
        await session.execute(
            text("UPDATE billing_provider_settings SET secret_key_encrypted = :v"), {"v": foreign}
        )

    response = await api.get(PATH, headers=ADMIN)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "billing_secret_unreadable"


async def test_billing_provider_settings_need_an_admin(api: httpx.AsyncClient) -> None:
    user = (await sign_up(api, "dev@example.com")).headers

    assert (await api.get(PATH)).status_code == 401
    assert (await api.put(PATH, json={"api_version": "2024-06-20"})).status_code == 401
    assert (await api.get(PATH, headers=user)).status_code == 403
    assert (await api.put(PATH, json={"api_version": "2024-06-20"}, headers=user)).status_code == 403
