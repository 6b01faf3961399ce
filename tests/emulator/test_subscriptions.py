"""Subscriptions: create, version-dependent periods, list filters, update, cancel, status, roll-over."""

import pytest
import stripe

from tests.emulator.conftest import LATEST, recurring_price, subscribe
from tests.fixtures.emulator import LEGACY


def test_subscription_periods_follow_interval_times_count(legacy):
    price = recurring_price(legacy, unit_amount=100, recurring={"interval": "week", "interval_count": 2})
    subscription = subscribe(legacy, price.id, quantity=3)
    assert subscription.status == "active"
    assert subscription.current_period_end - subscription.current_period_start == 14 * 86_400
    item = subscription["items"].data[0]
    assert item.id.startswith("si_")
    assert item.quantity == 3
    assert item.price.id == price.id


def test_period_fields_move_to_items_from_basil(emulator, legacy):
    price = recurring_price(legacy, unit_amount=100, recurring={"interval": "day"})
    subscription = subscribe(legacy, price.id)
    modern = emulator.client(version=LATEST)
    seen = modern.v1.subscriptions.retrieve(subscription.id)
    assert "current_period_end" not in seen
    item = seen["items"].data[0]
    assert item.current_period_end - item.current_period_start == 86_400
    old = legacy.v1.subscriptions.retrieve(subscription.id)
    assert old.current_period_end == item.current_period_end
    assert "current_period_end" not in old["items"].data[0]


def test_subscription_list_filters_and_status_all(legacy):
    price = recurring_price(legacy, unit_amount=100)
    other = recurring_price(legacy, unit_amount=200)
    a = subscribe(legacy, price.id)
    b = subscribe(legacy, other.id)
    legacy.v1.subscriptions.cancel(a.id)
    assert [s.id for s in legacy.v1.subscriptions.list().data] == [b.id]
    assert [s.id for s in legacy.v1.subscriptions.list({"status": "all"}).data] == [b.id, a.id]
    assert [s.id for s in legacy.v1.subscriptions.list({"status": "canceled"}).data] == [a.id]
    assert [s.id for s in legacy.v1.subscriptions.list({"customer": b.customer}).data] == [b.id]
    assert [s.id for s in legacy.v1.subscriptions.list({"price": other.id}).data] == [b.id]


def test_cancel_sets_status_and_canceled_at(legacy, emulator):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=100).id)
    canceled = legacy.v1.subscriptions.cancel(subscription.id)
    assert canceled.status == "canceled"
    assert abs(canceled.canceled_at - emulator.now()) <= 2
    assert emulator.webhook_deliveries(type="customer.subscription.deleted")


def test_update_metadata_cancel_at_period_end_and_items(legacy):
    price = recurring_price(legacy, unit_amount=100)
    bigger = recurring_price(legacy, unit_amount=500)
    subscription = subscribe(legacy, price.id, metadata={"a": "1"})
    item = subscription["items"].data[0]
    updated = legacy.v1.subscriptions.update(
        subscription.id,
        {
            "metadata": {"b": "2"},
            "cancel_at_period_end": True,
            "items": [{"id": item.id, "quantity": 4}, {"price": bigger.id, "quantity": 1}],
        },
    )
    assert updated.metadata.to_dict() == {"a": "1", "b": "2"}
    assert updated.cancel_at_period_end is True
    assert [(i.price.id, i.quantity) for i in updated["items"].data] == [(price.id, 4), (bigger.id, 1)]


def test_cancel_at_period_end_cancels_when_period_passes(legacy, emulator):
    subscription = subscribe(
        legacy, recurring_price(legacy, unit_amount=100, recurring={"interval": "day"}).id
    )
    legacy.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": True})
    emulator.advance_clock(days=1, seconds=1)
    assert legacy.v1.subscriptions.retrieve(subscription.id).status == "canceled"


@pytest.mark.parametrize("status", ["incomplete", "trialing", "past_due", "unpaid", "active", "canceled"])
def test_status_is_settable_through_control(legacy, emulator, status):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=100).id)
    emulator.set_subscription_status(subscription.id, status)
    assert legacy.v1.subscriptions.retrieve(subscription.id).status == status


def test_trial_period_starts_trialing_with_zero_first_invoice(legacy):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=900).id, trial_period_days=7)
    assert subscription.status == "trialing"
    assert subscription.trial_end - subscription.trial_start == 7 * 86_400
    assert subscription.current_period_end == subscription.trial_end
    assert legacy.v1.invoices.retrieve(subscription.latest_invoice).amount_due == 0


def test_roll_over_creates_paid_invoice_and_next_period(legacy, emulator):
    price = recurring_price(legacy, unit_amount=1000, recurring={"interval": "day"})
    subscription = subscribe(legacy, price.id, quantity=2)
    emulator.clear_webhook_deliveries()
    emulator.advance_clock(days=1, seconds=1)
    rolled = legacy.v1.subscriptions.retrieve(subscription.id)
    assert rolled.current_period_start == subscription.current_period_end
    assert rolled.current_period_end == subscription.current_period_end + 86_400
    invoice = legacy.v1.invoices.retrieve(rolled.latest_invoice)
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == (
        "paid",
        2000,
        "subscription_cycle",
    )
    assert invoice.period_start == subscription.current_period_start
    assert invoice.period_end == subscription.current_period_end
    types = [d["type"] for d in emulator.webhook_deliveries()]
    assert types[:3] == ["invoice.created", "invoice.finalized", "invoice.paid"]
    assert "customer.subscription.updated" in types


def test_monthly_periods_clamp_to_month_end(legacy, emulator):
    price = recurring_price(legacy, unit_amount=1)
    subscription = subscribe(legacy, price.id)
    emulator.advance_clock(days=65)
    rolled = legacy.v1.subscriptions.retrieve(subscription.id)
    assert rolled.current_period_start < emulator.now() < rolled.current_period_end
    assert len(legacy.v1.invoices.list({"subscription": subscription.id}).data) == 3


def test_subscription_items_list_and_retrieve(legacy):
    subscription = subscribe(legacy, recurring_price(legacy, unit_amount=1).id)
    item_id = subscription["items"].data[0].id
    listed = legacy.v1.subscription_items.list({"subscription": subscription.id})
    assert [i.id for i in listed.data] == [item_id]
    assert legacy.v1.subscription_items.retrieve(item_id).subscription == subscription.id


def test_one_time_price_cannot_be_subscribed(legacy):
    price = legacy.v1.prices.create(
        {"product": legacy.v1.products.create({"name": "x"}).id, "currency": "usd", "unit_amount": 1}
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        subscribe(legacy, price.id)
    assert info.value.param == "items[0][price]"


def test_legacy_version_constant_is_2020_08_27():
    assert LEGACY == "2020-08-27"
