"""Invoices: upcoming (before basil) and create_preview amounts, roll-over invoices list/retrieve/lines."""

import pytest
import stripe

from tests.emulator.conftest import LATEST, body, recurring_price, subscribe


def _tiered(client, mode, tiers):
    return recurring_price(
        client,
        billing_scheme="tiered",
        tiers_mode=mode,
        tiers=tiers,
        recurring={"interval": "month", "usage_type": "metered", "aggregate_usage": "sum"},
    )


def _usage(client, subscription, quantity):
    item_id = subscription["items"].data[0].id
    client.raw_request("post", f"/v1/subscription_items/{item_id}/usage_records", quantity=quantity)


def test_upcoming_invoice_bills_usage_by_graduated_tiers_with_flat_amounts(legacy):
    price = _tiered(
        legacy,
        "graduated",
        [
            {"up_to": 1000, "unit_amount": 0, "flat_amount": 500},
            {"up_to": 10000, "unit_amount": 2, "flat_amount": 100},
            {"up_to": "inf", "unit_amount": 1},
        ],
    )
    subscription = subscribe(legacy, price.id)
    _usage(legacy, subscription, 12_000)
    invoice = body(legacy.raw_request("get", "/v1/invoices/upcoming", customer=subscription.customer))
    expected = 500 + 9000 * 2 + 100 + 2000 * 1
    assert (invoice["object"], invoice["total"], invoice["amount_due"], invoice["subtotal"]) == (
        "invoice",
        expected,
        expected,
        expected,
    )
    (line,) = invoice["lines"]["data"]
    assert (line["amount"], line["quantity"], line["price"]["id"]) == (expected, 12_000, price.id)
    assert line["period"] == {
        "start": subscription.current_period_start,
        "end": subscription.current_period_end,
    }
    assert invoice["period_start"] == subscription.current_period_start
    assert invoice["currency"] == "usd"


def test_volume_tiers_with_flat_amount_in_preview(legacy):
    price = _tiered(
        legacy,
        "volume",
        [{"up_to": 100, "unit_amount": 10}, {"up_to": "inf", "unit_amount": 7, "flat_amount": 300}],
    )
    subscription = subscribe(legacy, price.id)
    _usage(legacy, subscription, 150)
    assert legacy.v1.invoices.create_preview({"subscription": subscription.id}).total == 150 * 7 + 300


@pytest.mark.parametrize(("rounding", "expected"), [("up", 3000), ("down", 2000)])
def test_package_pricing_rounds_per_transform_quantity(legacy, rounding, expected):
    price = recurring_price(
        legacy,
        unit_amount=1000,
        transform_quantity={"divide_by": 1000, "round": rounding},
        recurring={"interval": "month", "usage_type": "metered"},
    )
    subscription = subscribe(legacy, price.id)
    _usage(legacy, subscription, 2500)
    assert legacy.v1.invoices.create_preview({"customer": subscription.customer}).total == expected


def test_licensed_items_bill_quantity_times_price_for_the_next_period(legacy):
    price = recurring_price(legacy, unit_amount=1250, currency="eur")
    subscription = subscribe(legacy, price.id, quantity=3)
    invoice = legacy.v1.invoices.create_preview({"subscription": subscription.id})
    assert invoice.total == 3750
    assert invoice.currency == "eur"
    line = invoice.lines.data[0]
    assert line.period.start == subscription.current_period_end


def test_upcoming_endpoint_is_gone_from_basil_but_create_preview_works(emulator, legacy):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=100).id)
    modern = emulator.client(version=LATEST)
    with pytest.raises(stripe.InvalidRequestError) as info:
        modern.raw_request("get", "/v1/invoices/upcoming", customer=subscription.customer)
    assert "create_preview" in info.value.user_message
    preview = modern.v1.invoices.create_preview({"customer": subscription.customer})
    assert preview.total == 100
    assert preview.id.startswith("upcoming_in_")


def test_preview_without_subscription_is_invoice_upcoming_none(legacy):
    customer = legacy.v1.customers.create({"email": "x@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        legacy.v1.invoices.create_preview({"customer": customer.id})
    assert info.value.code == "invoice_upcoming_none"


def test_roll_over_invoices_are_listed_retrieved_with_lines(legacy, emulator):
    subscription = subscribe(
        legacy, recurring_price(legacy, unit_amount=300, recurring={"interval": "day"}).id
    )
    emulator.advance_clock(days=2, seconds=5)
    invoices = legacy.v1.invoices.list({"subscription": subscription.id})
    assert [i.billing_reason for i in invoices.data] == [
        "subscription_cycle",
        "subscription_cycle",
        "subscription_create",
    ]
    assert [i.amount_paid for i in invoices.data] == [300, 300, 300]
    latest = legacy.v1.invoices.retrieve(invoices.data[0].id)
    assert latest.status == "paid"
    assert legacy.v1.invoices.line_items.list(latest.id).data[0].amount == 300


def test_past_due_subscription_invoices_stay_open(legacy, emulator):
    subscription = subscribe(
        legacy, recurring_price(legacy, unit_amount=300, recurring={"interval": "day"}).id
    )
    emulator.set_subscription_status(subscription.id, "past_due")
    emulator.advance_clock(days=1, seconds=1)
    latest = legacy.v1.invoices.retrieve(legacy.v1.subscriptions.retrieve(subscription.id).latest_invoice)
    assert (latest.status, latest.amount_remaining) == ("open", 300)
    assert emulator.webhook_deliveries(type="invoice.payment_failed")
