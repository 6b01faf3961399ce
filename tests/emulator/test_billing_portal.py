"""Billing portal sessions and the hosted portal page (subscriptions, cancel button, return link)."""

import re

import httpx
import pytest
import stripe

from tests.emulator.conftest import recurring_price, subscribe


def test_portal_session_points_at_the_emulator_page(legacy, emulator):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=5).id)
    session = legacy.v1.billing_portal.sessions.create(
        {"customer": subscription.customer, "return_url": "http://portal.test/account"}
    )
    assert session.id.startswith("bps_")
    assert session.object == "billing_portal.session"
    assert session.url == f"{emulator.url}/p/session/{session.id}"
    page = httpx.get(session.url)
    assert page.status_code == 200
    assert "My API" in page.text
    assert f'id="cancel-{subscription.id}"'.replace('"', "'") in page.text
    assert "href='http://portal.test/account'>Return</a>" in page.text


def test_cancel_button_cancels_the_subscription(legacy):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=5).id)
    session = legacy.v1.billing_portal.sessions.create(
        {"customer": subscription.customer, "return_url": "http://x/"}
    )
    action = re.search(r"action='([^']+)'", httpx.get(session.url).text).group(1)
    response = httpx.post(f"{session.url.split('/p/')[0]}{action}")
    assert response.status_code == 303
    assert legacy.v1.subscriptions.retrieve(subscription.id).status == "canceled"


def test_portal_session_needs_an_existing_customer(legacy):
    with pytest.raises(stripe.InvalidRequestError) as info:
        legacy.v1.billing_portal.sessions.create({"customer": "cus_nope"})
    assert info.value.http_status == 404
    assert info.value.param == "customer"
