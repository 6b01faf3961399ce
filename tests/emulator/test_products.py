"""Products: CRUD, active filter, delete rules."""

import pytest
import stripe


def test_product_create_retrieve_update(legacy):
    created = legacy.v1.products.create({"name": "My API", "description": "d", "metadata": {"tier": "gold"}})
    assert created.id.startswith("prod_")
    assert created.object == "product"
    assert created.livemode is False
    assert created.active is True
    assert created.metadata.to_dict() == {"tier": "gold"}
    updated = legacy.v1.products.update(created.id, {"name": "Renamed", "metadata": {"tier": "", "x": "1"}})
    assert updated.name == "Renamed"
    assert updated.metadata.to_dict() == {"x": "1"}
    assert legacy.v1.products.retrieve(created.id).name == "Renamed"


def test_product_list_filters_on_active(legacy):
    active = legacy.v1.products.create({"name": "A"})
    inactive = legacy.v1.products.create({"name": "B", "active": False})
    assert [p.id for p in legacy.v1.products.list({"active": True}).data] == [active.id]
    assert [p.id for p in legacy.v1.products.list({"active": False}).data] == [inactive.id]


def test_product_without_prices_can_be_deleted(legacy):
    product = legacy.v1.products.create({"name": "A"})
    deleted = legacy.v1.products.delete(product.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        legacy.v1.products.retrieve(product.id)


def test_product_with_prices_cannot_be_deleted(legacy):
    product = legacy.v1.products.create({"name": "A"})
    legacy.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 5})
    with pytest.raises(stripe.InvalidRequestError, match="user-created prices"):
        legacy.v1.products.delete(product.id)


def test_product_name_is_required(legacy):
    with pytest.raises(stripe.InvalidRequestError) as info:
        legacy.v1.products.create({"description": "no name"})
    assert info.value.param == "name"
    assert info.value.code == "parameter_missing"
