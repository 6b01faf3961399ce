"""POST /v1/webhooks/stripe: signature checks, the inbox (stored once), applying from a fresh Stripe read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from portal_api.billing.models import Customer, Subscription
from portal_api.checkout.models import ProvisionedCheckout
from portal_api.config import Settings
from portal_api.db import utcnow
from portal_api.main import services_of
from portal_api.webhooks.models import WebhookEvent
from stripe_emulator.testing import EmulatorServer
from tests.api.checkout.flow import complete, deliver_webhooks, error_of, rows, subscribe
from tests.fixtures.database import running_app
from tests.fixtures.keys import verify_key
from tests.fixtures.members import sign_up

EVENT = {"id": "evt_test_unknown_1", "object": "event", "type": "radar.early_fraud_warning.created"}


def unknown_event(event_id: str = "evt_test_unknown_1") -> str:
    body = {**EVENT, "id": event_id, "api_version": "2020-08-27", "data": {"object": {"id": "issfr_1"}}}
    return json.dumps(body)


async def post_event(api: httpx.AsyncClient, payload: str, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return await api.post("/v1/webhooks/stripe", content=payload, headers=headers)


async def test_signed_unknown_event_is_stored_processed_and_ignored(
    api: httpx.AsyncClient, app: Any, emulator: EmulatorServer
) -> None:
    payload = unknown_event()

    response = await post_event(api, payload, emulator.sign(payload))

    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    [event] = await rows(app, WebhookEvent)
    assert event.id == "evt_test_unknown_1" and event.type == "radar.early_fraud_warning.created"
    assert event.processed_at is not None and event.attempts == 1
    assert event.last_error is not None and event.last_error.startswith("ignored:")
    assert json.loads(event.payload)["id"] == "evt_test_unknown_1"


async def test_replayed_event_is_acknowledged_as_duplicate_and_stored_once(
    api: httpx.AsyncClient, app: Any, emulator: EmulatorServer
) -> None:
    payload = unknown_event()
    signature = emulator.sign(payload)

    first = await post_event(api, payload, signature)
    replay = await post_event(api, payload, signature)
    resigned = await post_event(api, payload, emulator.sign(payload))

    assert first.json() == {"received": True, "duplicate": False}
    assert replay.status_code == resigned.status_code == 200
    assert replay.json() == resigned.json() == {"received": True, "duplicate": True}
    [event] = await rows(app, WebhookEvent)
    assert event.attempts == 1


async def test_bad_signature_is_400_and_nothing_is_stored(
    api: httpx.AsyncClient, app: Any, emulator: EmulatorServer
) -> None:
    payload = unknown_event()

    wrong_secret = await post_event(api, payload, emulator.sign(payload, secret="whsec_someone_else"))
    tampered = await post_event(api, payload.replace("issfr_1", "issfr_2"), emulator.sign(payload))
    stale = await post_event(api, payload, emulator.sign(payload, timestamp=int(utcnow().timestamp()) - 3600))
    garbage = await post_event(api, payload, "not a signature")

    for response in (wrong_secret, tampered, stale, garbage):
        assert error_of(response) == (400, "invalid_signature")
    assert await rows(app, WebhookEvent) == []


async def test_missing_signature_is_400_and_nothing_is_stored(api: httpx.AsyncClient, app: Any) -> None:
    response = await post_event(api, unknown_event(), None)

    assert error_of(response) == (400, "invalid_signature")
    assert "missing" in response.json()["error"]["message"]
    assert await rows(app, WebhookEvent) == []


async def test_signed_body_that_is_not_an_event_is_400(
    api: httpx.AsyncClient, emulator: EmulatorServer
) -> None:
    not_json = "this is not json"
    no_id = json.dumps({"object": "event", "type": "customer.created"})

    for payload in (not_json, no_id):
        response = await post_event(api, payload, emulator.sign(payload))
        assert error_of(response) == (400, "invalid_payload")


async def test_unset_webhook_secret_is_503_with_a_clear_message(
    settings_factory: Callable[..., Settings], emulator: EmulatorServer
) -> None:
    settings = settings_factory(
        stripe_api_base=emulator.url, stripe_webhook_secret="", run_jobs_in_process=False
    )
    payload = unknown_event()
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await post_event(client, payload, emulator.sign(payload))

    assert error_of(response) == (503, "webhooks_not_configured")
    assert "STRIPE_WEBHOOK_SECRET" in response.json()["error"]["message"]


async def test_checkout_completed_webhook_provisions_without_issuing_a_key(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    checkout_session_id = await subscribe(api, member, catalog["prices"]["package"])

    [ack] = await deliver_webhooks(api, emulator, type="checkout.session.completed")

    assert ack.json() == {"received": True, "duplicate": False}
    [record] = await rows(app, ProvisionedCheckout)
    assert (record.stripe_checkout_session_id, record.provisioned_by) == (checkout_session_id, "webhook")
    [subscription] = await rows(app, Subscription, user_id=member.id)
    assert subscription.status == "active" and subscription.price_id == catalog["prices"]["package"]
    assert subscription.product_name == "My API" and subscription.plan_nickname == "$10 per 1,000 calls"
    assert [i.usage_type for i in subscription.items] == ["metered"]
    [event] = await rows(app, WebhookEvent, type="checkout.session.completed")
    assert event.processed_at is not None and event.last_error is None


async def test_every_captured_delivery_of_a_checkout_is_applied_once(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    await subscribe(api, member, catalog["prices"]["payg"])
    deliveries = emulator.webhook_deliveries()

    first = await deliver_webhooks(api, emulator)
    second = await deliver_webhooks(api, emulator)

    assert [r.json()["duplicate"] for r in first] == [False] * len(deliveries)
    assert [r.json()["duplicate"] for r in second] == [True] * len(deliveries)
    events = await rows(app, WebhookEvent)
    assert sorted(e.id for e in events) == sorted(d["event_id"] for d in deliveries)
    assert all(e.processed_at is not None and e.attempts == 1 for e in events)
    assert len(await rows(app, Subscription)) == 1


async def test_pricing_table_checkout_webhook_finds_the_user_by_email(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer, stripe_sdk: Any
) -> None:
    member = await sign_up(api, "table@example.com")
    session = stripe_sdk.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "line_items": [{"price": catalog["prices"]["free"], "quantity": 1}],
            "success_url": "http://portal.test/return?checkout_session_id={CHECKOUT_SESSION_ID}",
        }
    )
    emulator.pay_checkout_session(session.id, email="TABLE@example.com")

    await deliver_webhooks(api, emulator, type="checkout.session.completed")

    [record] = await rows(app, ProvisionedCheckout)
    assert record.user_id == member.id
    [customer] = await rows(app, Customer, user_id=member.id)
    assert customer.email == "TABLE@example.com"


async def test_checkout_of_nobody_we_know_is_stored_and_ignored(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer, stripe_sdk: Any
) -> None:
    session = stripe_sdk.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "line_items": [{"price": catalog["prices"]["free"], "quantity": 1}],
            "success_url": "http://elsewhere.test/ok",
        }
    )
    emulator.pay_checkout_session(session.id, email="stranger@example.com")

    await deliver_webhooks(api, emulator, type="checkout.session.completed")

    [event] = await rows(app, WebhookEvent)
    assert (
        event.processed_at is not None
        and event.last_error == "ignored: no user matches this checkout session"
    )
    assert await rows(app, ProvisionedCheckout) == []


async def test_subscription_canceled_in_stripe_turns_keys_invalid(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer, stripe_sdk: Any
) -> None:
    member = await sign_up(api)
    checkout_session_id = await subscribe(api, member, catalog["prices"]["payg"])
    body = (await complete(api, member, checkout_session_id)).json()
    secret = body["key"]["secret"]
    assert (await verify_key(api, secret))["valid"] is True  # now cached as active
    emulator.clear_webhook_deliveries()

    stripe_sdk.v1.subscriptions.cancel(body["subscription"]["id"])
    acks = await deliver_webhooks(api, emulator, type="customer.subscription.deleted")

    assert [a.status_code for a in acks] == [200]
    shown = (await api.get("/v1/subscription", headers=member.headers)).json()
    assert shown["status"] == "canceled" and shown["canceled_at"] is not None
    verdict = await verify_key(api, secret)
    assert verdict["valid"] is False and verdict["reason"] == "subscription_inactive"
    assert verdict["subscription_status"] == "canceled"


async def test_subscription_update_sets_cancel_at_period_end_and_keeps_status_changed_at(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer, stripe_sdk: Any
) -> None:
    member = await sign_up(api)
    body = (await complete(api, member, await subscribe(api, member, catalog["prices"]["payg"]))).json()
    [before] = await rows(app, Subscription)
    emulator.clear_webhook_deliveries()

    stripe_sdk.v1.subscriptions.update(body["subscription"]["id"], {"cancel_at_period_end": True})
    await deliver_webhooks(api, emulator, type="customer.subscription.updated")

    [after] = await rows(app, Subscription)
    assert after.cancel_at_period_end is True and after.status == "active"
    assert after.status_changed_at == before.status_changed_at  # status itself did not change
    shown = (await api.get("/v1/subscription", headers=member.headers)).json()
    assert shown["cancel_at_period_end"] is True


async def test_past_due_in_stripe_moves_status_changed_at(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    body = (await complete(api, member, await subscribe(api, member, catalog["prices"]["payg"]))).json()
    [before] = await rows(app, Subscription)
    emulator.clear_webhook_deliveries()

    emulator.set_subscription_status(body["subscription"]["id"], "past_due")
    await deliver_webhooks(api, emulator, type="customer.subscription.updated")

    [after] = await rows(app, Subscription)
    assert after.status == "past_due" and after.status_changed_at > before.status_changed_at


async def test_customer_updated_and_deleted_are_mirrored(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer, stripe_sdk: Any
) -> None:
    member = await sign_up(api)
    body = (await complete(api, member, await subscribe(api, member, catalog["prices"]["payg"]))).json()
    customer_id = body["customer"]["id"]
    emulator.clear_webhook_deliveries()

    stripe_sdk.v1.customers.update(customer_id, {"name": "Renamed Ltd", "email": "billing@renamed.example"})
    await deliver_webhooks(api, emulator, type="customer.updated")
    [renamed] = await rows(app, Customer, user_id=member.id)
    stripe_sdk.v1.customers.delete(customer_id)
    await deliver_webhooks(api, emulator, type="customer.deleted")

    assert (renamed.name, renamed.email) == ("Renamed Ltd", "billing@renamed.example")
    [deleted] = await rows(app, Customer, user_id=member.id)
    assert deleted.deleted_at is not None
    [subscription] = await rows(app, Subscription, user_id=member.id)
    assert subscription.status == "canceled"
    portal = await api.post("/v1/billing-portal", headers=member.headers)
    assert error_of(portal) == (404, "no_customer")
    verdict = await verify_key(api, body["key"]["secret"])
    assert verdict["valid"] is False and verdict["reason"] == "subscription_inactive"


async def test_failed_apply_is_recorded_and_retried_by_the_job_until_it_succeeds(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    await subscribe(api, member, catalog["prices"]["payg"])
    emulator.add_fault("/v1/checkout/sessions/", method="GET")  # the re-fetch fails once

    [ack] = await deliver_webhooks(api, emulator, type="checkout.session.completed")

    assert ack.status_code == 200  # stored: Stripe must not redeliver
    [event] = await rows(app, WebhookEvent)
    assert event.processed_at is None and event.attempts == 1
    assert event.last_error is not None and "UpstreamError" in event.last_error
    assert event.next_attempt_at is not None and event.next_attempt_at > utcnow()
    assert await rows(app, ProvisionedCheckout) == []

    inbox = services_of(app).webhook_inbox
    assert await inbox.retry_due() == 0  # not due yet
    assert await inbox.retry_due(now=utcnow() + timedelta(minutes=5)) == 1

    [event] = await rows(app, WebhookEvent)
    assert event.processed_at is not None and event.attempts == 2 and event.last_error is None
    [record] = await rows(app, ProvisionedCheckout)
    assert record.user_id == member.id and record.provisioned_by == "webhook"


async def test_retry_backs_off_and_gives_up_after_max_attempts(
    api: httpx.AsyncClient, app: Any, settings: Settings, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    await subscribe(api, member, catalog["prices"]["payg"])
    emulator.add_fault("/v1/checkout/sessions/", method="GET", count=100)
    await deliver_webhooks(api, emulator, type="checkout.session.completed")
    inbox = services_of(app).webhook_inbox
    delays = []

    for _ in range(settings.webhook_max_attempts + 2):
        [event] = await rows(app, WebhookEvent)
        delays.append(event.next_attempt_at - utcnow() if event.next_attempt_at else None)
        await inbox.retry_due(now=utcnow() + timedelta(days=1))

    [event] = await rows(app, WebhookEvent)
    assert event.attempts == settings.webhook_max_attempts and event.processed_at is None
    assert delays[0] is not None and timedelta(seconds=25) < delays[0] <= timedelta(seconds=30)
    assert delays[1] is not None and timedelta(seconds=55) < delays[1] <= timedelta(seconds=60)
    assert all(d is not None and d <= timedelta(hours=1) for d in delays)


async def test_retry_job_picks_up_an_event_whose_inline_apply_never_ran(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    from portal_api.jobs import retry_webhook_events
    from portal_api.webhooks.service import record_event

    member = await sign_up(api)
    await subscribe(api, member, catalog["prices"]["free"])
    [delivery] = emulator.webhook_deliveries(type="checkout.session.completed")
    async with services_of(
        app
    ).database.write_factory() as session:  # as if the process died right after storing it
        assert await record_event(session, json.loads(delivery["payload"])) is True
        await session.commit()

    assert await retry_webhook_events(services_of(app).webhook_inbox, asyncio.Event()) == 1

    [record] = await rows(app, ProvisionedCheckout)
    assert record.user_id == member.id


async def test_subscription_stripe_no_longer_knows_is_marked_canceled(
    api: httpx.AsyncClient, app: Any, catalog: dict[str, Any], emulator: EmulatorServer
) -> None:
    member = await sign_up(api)
    body = (await complete(api, member, await subscribe(api, member, catalog["prices"]["payg"]))).json()
    subscription_id = body["subscription"]["id"]
    emulator.reset()  # Stripe forgot everything (think: a test-mode data wipe)
    event = {
        "id": "evt_test_gone_1",
        "object": "event",
        "type": "customer.subscription.updated",
        "data": {"object": {"id": subscription_id, "object": "subscription", "status": "active"}},
    }
    payload = json.dumps(event)

    response = await post_event(api, payload, emulator.sign(payload))

    assert response.status_code == 200
    [subscription] = await rows(app, Subscription, stripe_subscription_id=subscription_id)
    assert subscription.status == "canceled" and subscription.canceled_at is not None
    verdict = await verify_key(api, body["key"]["secret"])
    assert verdict["reason"] == "subscription_inactive"
