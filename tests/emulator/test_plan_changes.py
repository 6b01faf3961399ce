"""Plan changes through the SDK: price swaps with Stripe's prorations, previews of them, proration behaviors,
cancel at period end and resume, metered usage across a swap, the events Stripe sends."""

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
import stripe

from tests.emulator.conftest import LATEST, body, product, recurring_price
from tests.fixtures.emulator import LEGACY

DAY = 86_400


def _prorated(amount: int, remaining: int, span: int) -> int:
    return int((Decimal(amount) * remaining / span).to_integral_value(rounding=ROUND_HALF_UP))


def _catalog(client):
    prod = product(client)
    basic = recurring_price(client, product=prod.id, unit_amount=1000, nickname="Basic")
    pro = recurring_price(client, product=prod.id, unit_amount=3000, nickname="Pro")
    return prod, basic, pro


def _subscribe(client, price_id, **item):
    customer = client.v1.customers.create({"email": "dev@example.com"})
    return client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price_id, **item}]})


def _period(client, subscription_id):
    """The current period in any version (on the items from basil)."""
    data = client.v1.subscriptions.retrieve(subscription_id).to_dict()
    item = data["items"]["data"][0]
    start = data.get("current_period_start") or item["current_period_start"]
    end = data.get("current_period_end") or item["current_period_end"]
    return start, end


def _preview(client, version, subscription, **change):
    """An invoice preview of a proposed change: the upcoming endpoint before basil, create_preview after."""
    items = change.get("items")
    if version == LEGACY:
        params = {"subscription": subscription.id}
        if items is not None:
            params["subscription_items"] = items
        for name in ("proration_behavior", "proration_date"):
            if name in change:
                params[f"subscription_{name}"] = change[name]
        return body(client.raw_request("get", "/v1/invoices/upcoming", **params))
    details = {k: v for k, v in change.items() if k != "items"}
    if items is not None:
        details["items"] = items
    return client.v1.invoices.create_preview(
        {"subscription": subscription.id, "subscription_details": details}
    ).to_dict()


def _proration_date(version, invoice):
    if version == LEGACY:
        return invoice["subscription_proration_date"]
    return invoice["parent"]["subscription_details"]["subscription_proration_date"]


def _is_proration(version, line):
    if version == LEGACY:
        return line["proration"]
    return line["parent"]["subscription_item_details"]["proration"]


@pytest.mark.parametrize("version", [LEGACY, LATEST])
def test_price_swap_keeps_the_item_and_prorates_by_the_second(emulator, version):
    client = emulator.client(version=version)
    _, basic, pro = _catalog(client)
    subscription = _subscribe(client, basic.id)
    item = subscription["items"].data[0]
    emulator.advance_clock(days=10, hours=3)
    start, end = _period(client, subscription.id)

    updated = client.v1.subscriptions.update(subscription.id, {"items": [{"id": item.id, "price": pro.id}]})

    (after,) = updated["items"].data
    assert (after.id, after.price.id, after.quantity) == (item.id, pro.id, 1)
    moment = emulator.now()
    pending = client.v1.invoice_items.list({"customer": subscription.customer, "pending": True}).data
    remaining = end - moment
    amounts = sorted(ii.amount for ii in pending)
    assert amounts == [-_prorated(1000, remaining, end - start), _prorated(3000, remaining, end - start)]
    descriptions = sorted(ii.description for ii in pending)
    assert descriptions[0].startswith("Remaining time on My API (Pro) after ")
    assert descriptions[1].startswith("Unused time on My API (Basic) after ")

    emulator.advance_clock(days=25)
    renewal = client.v1.invoices.list({"subscription": subscription.id}).data[0]
    assert renewal.billing_reason == "subscription_cycle"
    assert renewal.total == 3000 + sum(amounts)
    assert sum(1 for line in renewal.lines.data if _is_proration(version, line.to_dict())) == 2
    assert client.v1.invoice_items.list({"customer": subscription.customer, "pending": True}).data == []


@pytest.mark.parametrize("version", [LEGACY, LATEST])
def test_preview_shows_the_prorations_the_update_then_bills(emulator, version):
    client = emulator.client(version=version)
    _, basic, pro = _catalog(client)
    subscription = _subscribe(client, basic.id)
    item_id = subscription["items"].data[0].id
    emulator.advance_clock(days=7)

    preview = _preview(client, version, subscription, items=[{"id": item_id, "price": pro.id}])
    moment = _proration_date(version, preview)
    prorations = [line for line in preview["lines"]["data"] if _is_proration(version, line)]
    assert len(prorations) == 2 and all(line["period"]["start"] == moment for line in prorations)
    emulator.advance_clock(hours=5)  # the update comes later, but prorates as of the preview
    client.v1.subscriptions.update(
        subscription.id, {"items": [{"id": item_id, "price": pro.id}], "proration_date": moment}
    )
    upcoming = _preview(client, version, subscription)

    assert upcoming["total"] == preview["total"]
    assert sorted(
        line["amount"] for line in upcoming["lines"]["data"] if _is_proration(version, line)
    ) == sorted(line["amount"] for line in prorations)


def test_proration_behavior_none_bills_the_new_price_from_the_renewal(legacy, emulator):
    _, basic, pro = _catalog(legacy)
    subscription = _subscribe(legacy, basic.id)
    item_id = subscription["items"].data[0].id
    emulator.advance_clock(days=12)

    preview = _preview(
        legacy, LEGACY, subscription, items=[{"id": item_id, "price": pro.id}], proration_behavior="none"
    )
    legacy.v1.subscriptions.update(
        subscription.id, {"items": [{"id": item_id, "price": pro.id}], "proration_behavior": "none"}
    )

    assert preview["total"] == 3000 and "subscription_proration_date" not in preview
    assert legacy.v1.invoice_items.list({"customer": subscription.customer}).data == []
    assert (
        body(legacy.raw_request("get", "/v1/invoices/upcoming", subscription=subscription.id))["total"]
        == 3000
    )


def test_always_invoice_bills_an_upgrade_at_once_and_credits_a_downgrade(legacy, emulator):
    _, basic, pro = _catalog(legacy)
    subscription = _subscribe(legacy, basic.id)
    item_id = subscription["items"].data[0].id
    emulator.advance_clock(days=20)
    start, end = _period(legacy, subscription.id)

    legacy.v1.subscriptions.update(
        subscription.id, {"items": [{"id": item_id, "price": pro.id}], "proration_behavior": "always_invoice"}
    )
    upgrade = legacy.v1.invoices.retrieve(legacy.v1.subscriptions.retrieve(subscription.id).latest_invoice)
    remaining = end - emulator.now()
    expected = _prorated(3000, remaining, end - start) - _prorated(1000, remaining, end - start)
    assert (upgrade.billing_reason, upgrade.status, upgrade.amount_due) == (
        "subscription_update",
        "paid",
        expected,
    )
    assert emulator.webhook_deliveries(type="invoice.paid")

    legacy.v1.subscriptions.update(
        subscription.id,
        {"items": [{"id": item_id, "price": basic.id}], "proration_behavior": "always_invoice"},
    )
    downgrade = legacy.v1.invoices.retrieve(legacy.v1.subscriptions.retrieve(subscription.id).latest_invoice)
    credit = downgrade.total
    assert credit < 0 and downgrade.amount_due == 0
    assert legacy.v1.customers.retrieve(subscription.customer).balance == credit
    upcoming = body(legacy.raw_request("get", "/v1/invoices/upcoming", subscription=subscription.id))
    assert upcoming["starting_balance"] == credit and upcoming["amount_due"] == max(1000 + credit, 0)


def test_update_event_carries_the_previous_items(emulator, legacy):
    _, basic, pro = _catalog(legacy)
    subscription = _subscribe(legacy, basic.id)
    item_id = subscription["items"].data[0].id
    emulator.clear_webhook_deliveries()

    legacy.v1.subscriptions.update(subscription.id, {"items": [{"id": item_id, "price": pro.id}]})

    types = [d["type"] for d in emulator.wait_for_deliveries(3)]
    assert types == ["invoiceitem.created", "invoiceitem.created", "customer.subscription.updated"]
    (delivery,) = emulator.webhook_deliveries(type="customer.subscription.updated")
    data = json.loads(delivery["payload"])["data"]
    assert data["object"]["items"]["data"][0]["price"]["id"] == pro.id
    assert data["previous_attributes"]["items"]["data"][0]["price"]["id"] == basic.id
    assert data["previous_attributes"]["items"]["data"][0]["id"] == item_id
    assert data["previous_attributes"]["plan"]["id"] == basic.id


def test_update_event_in_basil_shapes(emulator):
    modern = emulator.client(version=LATEST)
    _, basic, pro = _catalog(modern)
    subscription = _subscribe(modern, basic.id)
    item_id = subscription["items"].data[0].id
    modern.v1.webhook_endpoints.create({"url": "", "enabled_events": ["*"], "api_version": LATEST})
    emulator.clear_webhook_deliveries()

    modern.v1.subscriptions.update(subscription.id, {"items": [{"id": item_id, "price": pro.id}]})

    payloads = [
        json.loads(d["payload"]) for d in emulator.webhook_deliveries(type="customer.subscription.updated")
    ]
    data = next(p for p in payloads if p["api_version"] == LATEST)["data"]
    assert "current_period_end" not in data["object"]
    assert data["object"]["items"]["data"][0]["current_period_end"] > data["object"]["start_date"]
    assert data["previous_attributes"]["items"]["data"][0]["price"]["id"] == basic.id


@pytest.mark.parametrize("version", [LEGACY, LATEST])
def test_cancel_at_period_end_resume_and_the_end_of_the_period(emulator, version):
    client = emulator.client(version=version)
    _, basic, _ = _catalog(client)
    subscription = _subscribe(client, basic.id)
    _, end = _period(client, subscription.id)
    emulator.clear_webhook_deliveries()

    canceling = client.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": True})
    assert (canceling.status, canceling.cancel_at_period_end, canceling.cancel_at) == ("active", True, end)
    assert canceling.canceled_at is not None
    assert canceling.cancellation_details.reason == "cancellation_requested"
    assert _preview(client, version, subscription)["total"] == 0  # nothing is renewed
    resumed = client.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": False})
    assert (resumed.cancel_at_period_end, resumed.cancel_at, resumed.canceled_at) == (False, None, None)
    client.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": True})
    emulator.advance_clock(seconds=end - emulator.now() + 1)

    ended = client.v1.subscriptions.retrieve(subscription.id)
    assert (ended.status, ended.ended_at) == ("canceled", end)
    updates = [
        json.loads(d["payload"]) for d in emulator.webhook_deliveries(type="customer.subscription.updated")
    ]
    assert [u["data"]["previous_attributes"]["cancel_at_period_end"] for u in updates] == [False, True, False]
    assert emulator.webhook_deliveries(type="customer.subscription.deleted")


def test_bad_updates_are_refused_like_stripe(legacy, emulator):
    _, basic, pro = _catalog(legacy)
    euro = recurring_price(legacy, unit_amount=900, currency="eur")
    metered = recurring_price(legacy, unit_amount=2, recurring={"usage_type": "metered"})
    subscription = _subscribe(legacy, basic.id)
    item_id = subscription["items"].data[0].id
    start, _ = _period(legacy, subscription.id)
    refused = [
        ({"items": [{"id": item_id, "price": pro.id}], "proration_date": start - 1}, "proration_date"),
        (
            {"items": [{"id": item_id, "price": pro.id}], "proration_behavior": "sometimes"},
            "proration_behavior",
        ),
        ({"items": [{"id": item_id, "price": euro.id}]}, "items"),
        ({"items": [{"id": "si_missing", "price": pro.id}]}, "items[0][id]"),
        ({"items": [{"id": item_id, "price": metered.id, "quantity": 2}]}, "items[0][quantity]"),
        ({"items": [{"id": item_id, "deleted": True}]}, "items"),
        ({"items": [{"price": basic.id}]}, "items"),
    ]
    for params, param in refused:
        with pytest.raises(stripe.InvalidRequestError) as info:
            legacy.v1.subscriptions.update(subscription.id, params)
        assert info.value.param == param, params
    assert legacy.v1.subscriptions.retrieve(subscription.id)["items"].data[0].price.id == basic.id


def test_legacy_usage_stays_on_the_item_and_is_billed_at_the_new_price(legacy, emulator):
    prod = product(legacy)
    metered = {"interval": "month", "usage_type": "metered", "aggregate_usage": "sum"}
    payg = recurring_price(legacy, product=prod.id, unit_amount=2, recurring=dict(metered))
    package = recurring_price(
        legacy,
        product=prod.id,
        unit_amount=1000,
        transform_quantity={"divide_by": 1000, "round": "up"},
        recurring=dict(metered),
    )
    subscription = _subscribe(legacy, payg.id)
    item_id = subscription["items"].data[0].id
    path = f"/v1/subscription_items/{item_id}/usage_records"
    legacy.raw_request("post", path, quantity=2500)
    emulator.advance_clock(days=10)

    legacy.v1.subscriptions.update(subscription.id, {"items": [{"id": item_id, "price": package.id}]})
    legacy.raw_request("post", path, quantity=1000)
    _, end = _period(legacy, subscription.id)
    emulator.advance_clock(seconds=end - emulator.now() + 1)

    invoice = legacy.v1.invoices.list({"subscription": subscription.id}).data[0]
    (line,) = [line for line in invoice.lines.data if line.price.id == package.id]
    assert (line.quantity, line.amount) == (3500, 4000)  # 3,500 calls = 4 packages of $10
    assert legacy.v1.invoice_items.list({"customer": subscription.customer}).data == []  # never prorated


def test_deleting_a_legacy_metered_item_needs_clear_usage(legacy):
    prod = product(legacy)
    base = recurring_price(legacy, product=prod.id, unit_amount=500)
    usage = recurring_price(legacy, product=prod.id, unit_amount=2, recurring={"usage_type": "metered"})
    customer = legacy.v1.customers.create({})
    subscription = legacy.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": base.id}, {"price": usage.id}]}
    )
    usage_item = next(i for i in subscription["items"].data if i.price.id == usage.id)

    with pytest.raises(stripe.InvalidRequestError) as info:
        legacy.v1.subscriptions.update(subscription.id, {"items": [{"id": usage_item.id, "deleted": True}]})
    assert info.value.param == "items[0][clear_usage]"
    kept = legacy.v1.subscriptions.update(
        subscription.id, {"items": [{"id": usage_item.id, "deleted": True, "clear_usage": True}]}
    )
    assert [i.price.id for i in kept["items"].data] == [base.id]


def test_meter_usage_before_a_swap_is_not_billed(modern, emulator):
    meter = modern.v1.billing.meters.create(
        {"display_name": "Calls", "event_name": "calls", "default_aggregation": {"formula": "sum"}}
    )
    prod = product(modern)
    recurring = {"interval": "month", "usage_type": "metered", "meter": meter.id}
    cheap = recurring_price(modern, product=prod.id, unit_amount=1, recurring=dict(recurring))
    dear = recurring_price(modern, product=prod.id, unit_amount=5, recurring=dict(recurring))
    subscription = _subscribe(modern, cheap.id)
    item_id = subscription["items"].data[0].id

    def calls(value):
        modern.v1.billing.meter_events.create(
            {
                "event_name": "calls",
                "payload": {"stripe_customer_id": subscription.customer, "value": str(value)},
            }
        )

    calls(100)
    emulator.advance_clock(days=3)
    modern.v1.subscriptions.update(subscription.id, {"items": [{"id": item_id, "price": dear.id}]})
    emulator.advance_clock(seconds=1)
    calls(40)

    preview = modern.v1.invoices.create_preview({"subscription": subscription.id})
    (line,) = preview.lines.data
    assert (line.quantity, line.amount) == (40, 200)  # only usage from the change on, at the new price


def test_interval_change_starts_a_new_period_and_invoices_at_once(legacy, emulator):
    prod = product(legacy)
    monthly = recurring_price(legacy, product=prod.id, unit_amount=1000)
    yearly = recurring_price(legacy, product=prod.id, unit_amount=10000, recurring={"interval": "year"})
    subscription = _subscribe(legacy, monthly.id)
    item_id = subscription["items"].data[0].id
    emulator.advance_clock(days=10)
    start, end = _period(legacy, subscription.id)

    updated = legacy.v1.subscriptions.update(
        subscription.id, {"items": [{"id": item_id, "price": yearly.id}]}
    )

    now = emulator.now()
    assert (updated.billing_cycle_anchor, updated.current_period_start) == (now, now)
    assert updated.current_period_end - now in (365 * DAY, 366 * DAY)
    invoice = legacy.v1.invoices.retrieve(updated.latest_invoice)
    assert invoice.billing_reason == "subscription_update"
    assert invoice.total == 10000 - _prorated(1000, end - now, end - start)


def test_no_prorations_while_trialing(legacy):
    _, basic, pro = _catalog(legacy)
    customer = legacy.v1.customers.create({})
    subscription = legacy.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": basic.id}], "trial_period_days": 14}
    )
    item_id = subscription["items"].data[0].id

    legacy.v1.subscriptions.update(subscription.id, {"items": [{"id": item_id, "price": pro.id}]})

    assert legacy.v1.invoice_items.list({"customer": customer.id}).data == []
    assert legacy.v1.subscriptions.retrieve(subscription.id).status == "trialing"
