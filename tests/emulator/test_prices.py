"""Prices: shapes, validation with Stripe's param names, filters, version rules."""

from decimal import Decimal

import pytest
import stripe

from tests.emulator.conftest import product


def test_recurring_price_shape_in_legacy_version(legacy):
    prod = product(legacy)
    price = legacy.v1.prices.create(
        {
            "product": prod.id,
            "currency": "EUR",
            "unit_amount": 1200,
            "nickname": "Pro",
            "lookup_key": "pro_monthly",
            "recurring": {"interval": "month", "interval_count": 3},
            "metadata": {"plan": "pro"},
        }
    )
    assert price.id.startswith("price_")
    assert price.currency == "eur"
    assert price.type == "recurring"
    assert price.billing_scheme == "per_unit"
    assert price.unit_amount == 1200
    assert price.unit_amount_decimal == Decimal("1200")
    assert price.recurring.interval == "month"
    assert price.recurring.interval_count == 3
    assert price.recurring.usage_type == "licensed"
    assert price.recurring.aggregate_usage is None
    assert price.metadata.to_dict() == {"plan": "pro"}


def test_one_time_price_has_no_recurring(legacy):
    price = legacy.v1.prices.create({"product": product(legacy).id, "currency": "jpy", "unit_amount": 500})
    assert price.type == "one_time"
    assert price.recurring is None


def test_metered_price_defaults_aggregate_usage_to_sum_before_basil(legacy):
    price = legacy.v1.prices.create(
        {
            "product": product(legacy).id,
            "currency": "usd",
            "unit_amount": 2,
            "recurring": {"interval": "month", "usage_type": "metered"},
        }
    )
    assert price.recurring.aggregate_usage == "sum"


def test_aggregate_usage_is_an_unknown_parameter_from_basil(modern):
    with pytest.raises(stripe.InvalidRequestError) as info:
        modern.v1.prices.create(
            {
                "product": product(modern).id,
                "currency": "usd",
                "unit_amount": 2,
                "recurring": {"interval": "month", "usage_type": "metered", "aggregate_usage": "max"},
            }
        )
    assert info.value.param == "recurring[aggregate_usage]"


def test_metered_price_needs_a_meter_from_basil(modern):
    with pytest.raises(stripe.InvalidRequestError) as info:
        modern.v1.prices.create(
            {
                "product": product(modern).id,
                "currency": "usd",
                "unit_amount": 2,
                "recurring": {"interval": "month", "usage_type": "metered"},
            }
        )
    assert info.value.param == "recurring[meter]"


def test_tiers_are_only_returned_when_expanded(legacy):
    price = legacy.v1.prices.create(
        {
            "product": product(legacy).id,
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [{"up_to": 1000, "unit_amount": 0}, {"up_to": "inf", "unit_amount_decimal": "0.5"}],
            "recurring": {"interval": "month", "usage_type": "metered"},
        }
    )
    assert "tiers" not in price
    expanded = legacy.v1.prices.retrieve(price.id, {"expand": ["tiers"]})
    assert expanded.tiers[0].up_to == 1000
    assert expanded.tiers[1].up_to is None
    assert expanded.tiers[1].unit_amount_decimal == Decimal("0.5")
    assert expanded.tiers[1].unit_amount is None


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"unit_amount": 5}, "currency"),
        ({"currency": "usd"}, "unit_amount"),
        (
            {"currency": "usd", "unit_amount": 5, "recurring": {"interval": "fortnight"}},
            "recurring[interval]",
        ),
        (
            {
                "currency": "usd",
                "billing_scheme": "tiered",
                "tiers_mode": "volume",
                "tiers": [{"up_to": 10, "unit_amount": 1}],
            },
            "tiers[0][up_to]",
        ),
        (
            {"currency": "usd", "billing_scheme": "tiered", "tiers": [{"up_to": "inf", "unit_amount": 1}]},
            "tiers_mode",
        ),
        (
            {
                "currency": "usd",
                "unit_amount": 5,
                "transform_quantity": {"divide_by": 10, "round": "sideways"},
            },
            "transform_quantity[round]",
        ),
    ],
)
def test_invalid_price_params_name_the_param(legacy, params, param):
    with pytest.raises(stripe.InvalidRequestError) as info:
        legacy.v1.prices.create({"product": product(legacy).id, **params})
    assert info.value.param == param
    assert info.value.http_status == 400


def test_price_list_filters(legacy):
    prod = product(legacy)
    other = product(legacy, "Other")
    licensed = legacy.v1.prices.create(
        {
            "product": prod.id,
            "currency": "usd",
            "unit_amount": 5,
            "lookup_key": "a",
            "recurring": {"interval": "month"},
        }
    )
    metered = legacy.v1.prices.create(
        {
            "product": prod.id,
            "currency": "eur",
            "unit_amount": 1,
            "lookup_key": "b",
            "recurring": {"interval": "month", "usage_type": "metered"},
        }
    )
    one_time = legacy.v1.prices.create(
        {"product": other.id, "currency": "usd", "unit_amount": 9, "active": False}
    )

    def ids(**params):
        return [p.id for p in legacy.v1.prices.list(params).data]

    assert ids() == [one_time.id, metered.id, licensed.id]
    assert ids(product=prod.id) == [metered.id, licensed.id]
    assert ids(type="one_time") == [one_time.id]
    assert ids(currency="eur") == [metered.id]
    assert ids(active=False) == [one_time.id]
    assert ids(recurring={"usage_type": "metered"}) == [metered.id]
    assert ids(lookup_keys=["a", "b"]) == [metered.id, licensed.id]


def test_lookup_key_is_unique_unless_transferred(legacy):
    prod = product(legacy)
    first = legacy.v1.prices.create(
        {"product": prod.id, "currency": "usd", "unit_amount": 1, "lookup_key": "k"}
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        legacy.v1.prices.create({"product": prod.id, "currency": "usd", "unit_amount": 2, "lookup_key": "k"})
    assert info.value.param == "lookup_key"
    second = legacy.v1.prices.create(
        {
            "product": prod.id,
            "currency": "usd",
            "unit_amount": 2,
            "lookup_key": "k",
            "transfer_lookup_key": True,
        }
    )
    assert second.lookup_key == "k"
    assert legacy.v1.prices.retrieve(first.id).lookup_key is None


def test_price_list_expands_product_on_each_item(legacy):
    prod = product(legacy, "Expanded")
    legacy.v1.prices.create({"product": prod.id, "currency": "usd", "unit_amount": 1})
    listed = legacy.v1.prices.list({"expand": ["data.product"]})
    assert listed.data[0].product.name == "Expanded"


def test_price_update_changes_active_nickname_and_metadata(legacy):
    price = legacy.v1.prices.create({"product": product(legacy).id, "currency": "usd", "unit_amount": 1})
    updated = legacy.v1.prices.update(price.id, {"active": False, "nickname": "Old", "metadata": {"a": "b"}})
    assert (updated.active, updated.nickname, updated.metadata.to_dict()) == (False, "Old", {"a": "b"})
