"""Webhook endpoints, events and signed deliveries that stripe.Webhook.construct_event accepts."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from tests.emulator.conftest import recurring_price, subscribe
from tests.fixtures.emulator import BASIL, EMULATOR_WEBHOOK_SECRET


@pytest.fixture
def receiver():
    """A local HTTP server recording webhook POSTs; answers 500 to the first N when told to."""
    received: list[dict] = []
    failures = {"left": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append({"body": self.rfile.read(length).decode(), "headers": dict(self.headers)})
            status = 500 if failures["left"] > 0 else 200
            failures["left"] -= 1
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.received = received
    server.failures = failures
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield server
    server.shutdown()


def test_endpoint_create_reveals_secret_once(legacy):
    endpoint = legacy.v1.webhook_endpoints.create({"url": "http://127.0.0.1:9/x", "enabled_events": ["*"]})
    assert endpoint.id.startswith("we_")
    assert endpoint.secret.startswith("whsec_")
    assert "secret" not in legacy.v1.webhook_endpoints.retrieve(endpoint.id)
    listed = legacy.v1.webhook_endpoints.list()
    assert endpoint.id in [e.id for e in listed.data]
    assert legacy.v1.webhook_endpoints.delete(endpoint.id).deleted is True


def test_delivery_is_signed_so_construct_event_accepts_it(legacy, emulator, receiver):
    endpoint = legacy.v1.webhook_endpoints.create(
        {"url": receiver.url, "enabled_events": ["customer.created"]}
    )
    customer = legacy.v1.customers.create({"email": "hook@example.com"})
    deliveries = emulator.wait_for_deliveries(1, url=receiver.url)
    assert [d["status"] for d in deliveries] == [200]
    (request,) = receiver.received
    event = stripe.Webhook.construct_event(
        request["body"], request["headers"]["Stripe-Signature"], endpoint.secret
    )
    assert event.type == "customer.created"
    assert event.data.object.id == customer.id
    assert event.data.object.email == "hook@example.com"
    assert deliveries[0]["payload"] == request["body"]


def test_tampered_body_fails_verification(legacy, emulator):
    legacy.v1.customers.create({"email": "t@example.com"})
    (delivery,) = emulator.webhook_deliveries(type="customer.created")
    tampered = delivery["payload"].replace("t@example.com", "evil@example.com")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            tampered, delivery["headers"]["Stripe-Signature"], EMULATOR_WEBHOOK_SECRET
        )
    event = stripe.Webhook.construct_event(
        delivery["payload"], delivery["headers"]["Stripe-Signature"], EMULATOR_WEBHOOK_SECRET
    )
    assert event.data.object.email == "t@example.com"


def test_sign_control_signs_any_body_with_the_configured_secret(emulator):
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "ping"})
    header = emulator.sign(payload)
    assert stripe.Webhook.construct_event(payload, header, EMULATOR_WEBHOOK_SECRET).id == "evt_1"


def test_failed_delivery_is_retried_and_every_attempt_recorded(legacy, emulator, receiver):
    receiver.failures["left"] = 2
    legacy.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.created"]})
    legacy.v1.customers.create({"email": "retry@example.com"})
    deliveries = emulator.wait_for_deliveries(3, url=receiver.url)
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 500), (2, 500), (3, 200)]
    assert len({d["event_id"] for d in deliveries}) == 1


def test_every_state_change_emits_its_event(legacy, emulator):
    customer = legacy.v1.customers.create({"email": "e@example.com"})
    legacy.v1.customers.update(customer.id, {"name": "E"})
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=5).id)
    legacy.v1.subscriptions.update(subscription.id, {"metadata": {"k": "v"}})
    legacy.v1.subscriptions.cancel(subscription.id)
    legacy.v1.customers.delete(customer.id)
    types = {e.type for e in legacy.v1.events.list({"limit": 100}).data}
    assert {
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
    } <= types


def test_updated_event_carries_previous_attributes(legacy):
    customer = legacy.v1.customers.create({"email": "old@example.com"})
    legacy.v1.customers.update(customer.id, {"email": "new@example.com"})
    (event,) = legacy.v1.events.list({"type": "customer.updated"}).data
    assert event.data.object.email == "new@example.com"
    assert event.data.previous_attributes.email == "old@example.com"
    assert legacy.v1.events.retrieve(event.id).id == event.id


def test_payload_is_rendered_in_the_endpoint_api_version(legacy, emulator):
    legacy.v1.webhook_endpoints.create({"url": "", "enabled_events": ["*"], "api_version": BASIL})
    subscribe(legacy, recurring_price(legacy, unit_amount=5).id)
    deliveries = emulator.webhook_deliveries(type="customer.subscription.created")
    by_version = {json.loads(d["payload"])["api_version"]: json.loads(d["payload"]) for d in deliveries}
    old, new = by_version["2020-08-27"]["data"]["object"], by_version[BASIL]["data"]["object"]
    assert "current_period_end" in old
    assert "current_period_end" not in new
    assert "current_period_end" in new["items"]["data"][0]
