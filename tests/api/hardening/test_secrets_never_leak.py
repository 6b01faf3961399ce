"""No secret in any log line or response: the main flows run at DEBUG while every log record, everything
written to stdout/stderr, and every response (headers and body) is captured, then scanned.

Scanned for: the Stripe secret key (environment and admin-stored), the webhook signing secrets, passwords
and their argon2 hashes, session tokens (allowed only in the sign-up/login answer that issues them), API key
secrets, admin and collector token secrets (allowed only in the one response that displays them).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from portal_api.config import Settings
from portal_api.main import services_of
from stripe_emulator.testing import EmulatorServer
from tests.api.checkout.flow import deliver_webhooks, pay_on_hosted_page
from tests.api.hardening.conftest import CapturedLogs
from tests.fixtures.database import running_app
from tests.fixtures.emulator import EMULATOR_WEBHOOK_SECRET, emulator_settings
from tests.fixtures.members import admin_token, bearer

STRIPE_KEY = "sk_test_hardening_NEVER_SHOWN_4f7a9c"
BOOTSTRAP_TOKEN = admin_token("Q")
ADMIN_EMAIL = "owner@provider.example.com"
ADMIN_PASSWORD = "admin password never shown"
PASSWORD = "customer password never shown"
STORED_STRIPE_KEY = "sk_test_stored_in_db_NEVER_SHOWN_b81"
STORED_WEBHOOK_SECRET = "whsec_stored_in_db_NEVER_SHOWN_c92"
BAD_STRIPE_KEY = "bogus_key_NEVER_SHOWN_e5d1"  # not sk_...: Stripe answers 401 and echoes part of it


@dataclass
class Recorder:
    """Every response the flows got, in order, and the secrets each one is allowed to display."""

    responses: list[httpx.Response] = field(default_factory=list)
    displays: dict[str, int] = field(default_factory=dict)  # secret -> index of the response showing it

    async def on_response(self, response: httpx.Response) -> None:
        await response.aread()
        self.responses.append(response)

    def displayed(self, secret: str) -> str:
        """Mark `secret` as shown by the latest response (its one legitimate appearance)."""
        assert secret in self.responses[-1].text
        self.displays[secret] = len(self.responses) - 1
        return secret


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], emulator: EmulatorServer) -> Settings:
    return emulator_settings(
        settings_factory,
        emulator,
        stripe_api_key=STRIPE_KEY,
        stripe_webhook_secret=EMULATOR_WEBHOOK_SECRET,
        admin_bootstrap_email=ADMIN_EMAIL,
        admin_bootstrap_password=ADMIN_PASSWORD,
        admin_bootstrap_token=BOOTSTRAP_TOKEN,
        log_level="DEBUG",
        log_json=True,
    )


@pytest.fixture
async def client(app: Any, recorder: Recorder) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        event_hooks={"response": [recorder.on_response]},
    ) as api:
        yield api


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


async def run_main_flows(api: httpx.AsyncClient, recorder: Recorder, emulator: EmulatorServer) -> list[str]:
    """Sign-up, login, checkout, keys, verify, webhooks, tokens, ingest, billing provider, health; returns
    the secrets that were displayed once (the rest are known constants)."""
    catalog = emulator.seed()
    admin = bearer(BOOTSTRAP_TOKEN)

    signup = await api.post("/v1/auth/signup", json={"email": "dev@example.com", "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    signup_token = recorder.displayed(signup.json()["token"])
    api.cookies.clear()
    login = await api.post("/v1/auth/login", json={"email": "dev@example.com", "password": PASSWORD})
    session = recorder.displayed(login.json()["token"])
    api.cookies.clear()
    wrong = await api.post("/v1/auth/login", json={"email": "dev@example.com", "password": PASSWORD + "!"})
    assert wrong.status_code == 401
    me = bearer(session)

    checkout = await api.post(
        "/v1/checkout/sessions", json={"price_id": catalog["prices"]["payg"]}, headers=me
    )
    assert checkout.status_code == 200, checkout.text
    await pay_on_hosted_page(checkout.json()["url"])
    completed = await api.post(f"/v1/checkout/sessions/{checkout.json()['id']}/complete", headers=me)
    assert completed.status_code == 200, completed.text
    first_key = recorder.displayed(completed.json()["key"]["secret"])
    await deliver_webhooks(api, emulator)
    await api.post(
        "/v1/webhooks/stripe", content=b'{"id": "evt_forged"}', headers={"Stripe-Signature": "t=1,v1=x"}
    )

    created = await api.post("/v1/keys", json={"name": "ci"}, headers=me)
    second_key = recorder.displayed(created.json()["secret"])
    rotated = await api.post(f"/v1/keys/{created.json()['id']}/rotate", headers=me)
    third_key = recorder.displayed(rotated.json()["secret"])
    await api.get("/v1/keys", headers=me)
    for key in (first_key, second_key, third_key, "mdp_test_unknown_" + "x" * 30):
        assert (await api.post("/v1/keys/verify", json={"key": key}, headers=admin)).status_code == 200
    await api.get("/v1/subscription", headers=me)
    await api.get("/v1/usage", headers=me)

    admin_login = await api.post("/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    admin_session = recorder.displayed(admin_login.json()["token"])
    api.cookies.clear()
    as_admin = bearer(admin_session)
    token = await api.post("/v1/admin/tokens", json={"name": "gateway"}, headers=as_admin)
    admin_token = recorder.displayed(token.json()["token"])
    await api.get("/v1/admin/tokens", headers=as_admin)
    assert (
        await api.post("/v1/keys/verify", json={"key": first_key}, headers=bearer(admin_token))
    ).is_success
    collector = await api.post("/v1/admin/collector-tokens", json={"name": "moesif"}, headers=as_admin)
    collector_token = recorder.displayed(collector.json()["token"])

    event = {"id": "ev1", "key": first_key, "route": "/v1/x", "method": "GET", "status": 200}
    event["timestamp"] = "2999-01-01T00:00:00+00:00"  # rejected (future): its key must not be logged either
    await api.post(
        "/v1/usage/events", json={"events": [event, {**event, "id": "ev2", "key": second_key}]}, headers=admin
    )
    moesif = {
        "request": {
            "time": "2020-01-01T00:00:00.000",
            "uri": "https://api.example.com/v1/x",
            "verb": "GET",
            "headers": {"authorization": f"Bearer {third_key}", "x-api-key": first_key},
        },
        "response": {"time": "2020-01-01T00:00:00.100", "status": 200, "headers": {}},
        "transaction_id": "t1",
    }
    await api.post(
        "/collector/v1/events/batch", json=[moesif], headers={"X-Moesif-Application-Id": collector_token}
    )

    if importlib.util.find_spec("portal_api.billing_provider") is not None:
        update = {"secret_key": STORED_STRIPE_KEY, "webhook_secret": STORED_WEBHOOK_SECRET}
        saved = await api.put("/v1/admin/billing-provider", json=update, headers=as_admin)
        assert saved.status_code == 200, saved.text
        await api.get("/v1/admin/billing-provider", headers=admin)
    await api.get("/v1/admin/health", headers=admin)
    await api.get("/metrics")
    await api.delete(f"/v1/keys/{created.json()['id']}", headers=me)
    await api.post("/v1/auth/logout", headers=me)
    return [
        signup_token,
        session,
        admin_session,
        first_key,
        second_key,
        third_key,
        admin_token,
        collector_token,
    ]


def leaks(text: str, secrets: list[str]) -> list[str]:
    found = [s for s in secrets if s in text]
    if re.search(r"\$argon2(id|i|d)\$", text):
        found.append("$argon2 hash")
    return found


async def test_main_flows_leak_no_secret_into_logs_or_responses(
    app: Any,
    client: httpx.AsyncClient,
    recorder: Recorder,
    emulator: EmulatorServer,
    captured_logs: CapturedLogs,
    capfd: pytest.CaptureFixture[str],
    settings_factory: Callable[..., Settings],
) -> None:
    # Stripe refusing our key (it echoes part of it) must not bring it into our logs or answers either
    # (first: later the admin stores a good key in the shared database, and that one would be used).
    async with (
        running_app(
            settings_factory(
                stripe_api_base=emulator.url,
                stripe_api_key=BAD_STRIPE_KEY,
                admin_bootstrap_token=BOOTSTRAP_TOKEN,
                log_level="DEBUG",
            )
        ) as bad_app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bad_app),
            base_url="http://t",
            event_hooks={"response": [recorder.on_response]},
        ) as bad_client,
    ):
        health = await bad_client.get("/v1/admin/health", headers=bearer(BOOTSTRAP_TOKEN))
    assert health.json()["stripe"]["error"] == "stripe_auth_failed"
    # The bad-key process wrote its environment into the shared stored configuration at its start; the
    # main app writes its own again, as its own (re)start would.
    await services_of(app).stripe.seed()
    displayed = await run_main_flows(client, recorder, emulator)

    constants = [
        STRIPE_KEY,
        EMULATOR_WEBHOOK_SECRET,
        BOOTSTRAP_TOKEN,
        ADMIN_PASSWORD,
        PASSWORD,
        STORED_STRIPE_KEY,
        STORED_WEBHOOK_SECRET,
        BAD_STRIPE_KEY,
        BAD_STRIPE_KEY[:8],
        BAD_STRIPE_KEY[-8:],
    ]
    output = capfd.readouterr()
    log_text = "\n".join([captured_logs.text, output.out, output.err])
    assert len(captured_logs.named("http_request")) == len(recorder.responses)  # the scan saw every request
    assert leaks(log_text, constants + displayed) == []

    assert len(recorder.responses) > 30
    for index, response in enumerate(recorder.responses):
        allowed = {s for s, shown_in in recorder.displays.items() if shown_in == index}
        text = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
        assert leaks(text, [s for s in constants + displayed if s not in allowed]) == [], (
            f"{response.request.method} {response.request.url.path} -> {response.status_code}"
        )
