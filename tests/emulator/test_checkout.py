"""Checkout Sessions: creation, hosted page pay flow, programmatic pay, expand, line items, expire."""

import httpx
import pytest
import stripe

from tests.emulator.conftest import recurring_price

SUCCESS = "http://portal.test/welcome?session_id={CHECKOUT_SESSION_ID}"


def _session(client, price, **extra):
    params = {
        "mode": "subscription",
        "line_items": [{"price": price.id, "quantity": 2}],
        "success_url": SUCCESS,
        "cancel_url": "http://portal.test/plans",
        "client_reference_id": "user-42",
        "customer_email": "buyer@example.com",
        "metadata": {"user_id": "42"},
        "subscription_data": {"metadata": {"plan": "pro"}},
        **extra,
    }
    return client.v1.checkout.sessions.create(params)


def test_session_is_open_with_url_on_the_emulator(legacy, emulator):
    price = recurring_price(legacy, unit_amount=1500, currency="gbp")
    session = _session(legacy, price)
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.url == f"{emulator.url}/c/pay/{session.id}"
    assert session.amount_total == 3000
    assert session.currency == "gbp"
    assert session.customer is None
    assert session.client_reference_id == "user-42"


def test_hosted_page_shows_line_items_and_pay_button(legacy):
    price = recurring_price(legacy, unit_amount=1500)
    session = _session(legacy, price)
    page = httpx.get(session.url)
    assert page.status_code == 200
    assert 'id="pay"' in page.text
    assert ">Pay</button>" in page.text
    assert "My API" in page.text
    assert "buyer@example.com" in page.text


def test_paying_on_hosted_page_redirects_to_success_url_with_id(legacy, emulator):
    price = recurring_price(legacy, unit_amount=1500)
    session = _session(legacy, price)
    response = httpx.post(session.url, data={"email": "ignored@example.com", "name": "Buyer"})
    assert response.status_code == 303
    assert response.headers["location"] == f"http://portal.test/welcome?session_id={session.id}"
    done = legacy.v1.checkout.sessions.retrieve(session.id, {"expand": ["customer", "subscription"]})
    assert (done.status, done.payment_status) == ("complete", "paid")
    assert done.customer.email == "buyer@example.com"
    assert done.customer_details.email == "buyer@example.com"
    assert done.customer_details.name == "Buyer"
    assert done.subscription.status == "active"
    assert done.subscription.metadata.to_dict() == {"plan": "pro"}
    assert done.subscription["items"].data[0].quantity == 2
    types = [d["type"] for d in emulator.webhook_deliveries()]
    assert types.index("customer.created") < types.index("checkout.session.completed")
    assert "customer.subscription.created" in types
    assert "invoice.paid" in types


def test_email_comes_from_the_form_when_session_has_none(legacy):
    price = recurring_price(legacy, unit_amount=100)
    session = _session(legacy, price, customer_email=None)
    httpx.post(session.url, data={"email": "typed@example.com"})
    done = legacy.v1.checkout.sessions.retrieve(session.id, {"expand": ["customer"]})
    assert done.customer.email == "typed@example.com"


def test_free_plan_completes_with_no_payment_required(legacy, emulator):
    price = recurring_price(legacy, unit_amount=0)
    session = _session(legacy, price)
    paid = emulator.pay_checkout_session(session.id)
    assert paid["status"] == "complete"
    assert paid["payment_status"] == "no_payment_required"
    assert paid["subscription"].startswith("sub_")


def test_existing_customer_is_reused(legacy, emulator):
    customer = legacy.v1.customers.create({"email": "known@example.com"})
    price = recurring_price(legacy, unit_amount=100)
    session = _session(legacy, price, customer=customer.id, customer_email=None)
    emulator.pay_checkout_session(session.id)
    assert legacy.v1.checkout.sessions.retrieve(session.id).customer == customer.id
    assert len(legacy.v1.customers.list().data) == 1


def test_metered_line_item_takes_no_quantity(legacy):
    metered = recurring_price(legacy, unit_amount=1, recurring={"usage_type": "metered"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        _session(legacy, metered)
    assert info.value.param == "line_items[0][quantity]"
    session = _session(legacy, metered, line_items=[{"price": metered.id}])
    assert session.amount_total == 0


def test_line_items_are_listed_and_expandable(legacy):
    price = recurring_price(legacy, unit_amount=700)
    session = _session(legacy, price)
    items = legacy.v1.checkout.sessions.line_items.list(session.id)
    assert [(i.price.id, i.quantity, i.amount_total) for i in items.data] == [(price.id, 2, 1400)]
    expanded = legacy.v1.checkout.sessions.retrieve(session.id, {"expand": ["line_items"]})
    assert expanded.line_items.data[0].price.unit_amount == 700


def test_expired_session_cannot_be_paid(legacy, emulator):
    session = _session(legacy, recurring_price(legacy, unit_amount=5))
    assert legacy.v1.checkout.sessions.expire(session.id).status == "expired"
    response = httpx.post(session.url, data={})
    assert response.status_code == 400
    with pytest.raises(httpx.HTTPStatusError):
        emulator.pay_checkout_session(session.id)


def test_cancel_link_goes_to_cancel_url(legacy, emulator):
    session = _session(legacy, recurring_price(legacy, unit_amount=5))
    response = httpx.get(f"{emulator.url}/c/cancel/{session.id}")
    assert response.status_code == 303
    assert response.headers["location"] == "http://portal.test/plans"
    assert "/c/cancel/" in httpx.get(session.url).text


def test_sessions_list_filters_by_status(legacy, emulator):
    price = recurring_price(legacy, unit_amount=5)
    first = _session(legacy, price)
    second = _session(legacy, price)
    emulator.pay_checkout_session(second.id)
    assert [s.id for s in legacy.v1.checkout.sessions.list({"status": "open"}).data] == [first.id]
    assert [s.id for s in legacy.v1.checkout.sessions.list({"status": "complete"}).data] == [second.id]


def test_expand_subscription_items_price_on_session(legacy, emulator):
    price = recurring_price(legacy, unit_amount=5)
    session = _session(legacy, price)
    emulator.pay_checkout_session(session.id)
    done = legacy.v1.checkout.sessions.retrieve(
        session.id, {"expand": ["subscription.items.data.price.product"]}
    )
    assert done.subscription["items"].data[0].price.product.name == "My API"
