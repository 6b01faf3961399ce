"""Customers: CRUD, deletion, list filter, search and list pagination."""

import pytest
import stripe


def test_customer_create_has_stripe_shape(legacy, emulator):
    customer = legacy.v1.customers.create(
        {"email": "a@example.com", "name": "Ada", "metadata": {"user_id": "42"}}
    )
    assert customer.id.startswith("cus_")
    assert customer.object == "customer"
    assert customer.livemode is False
    assert customer.metadata.to_dict() == {"user_id": "42"}
    assert abs(customer.created - emulator.now()) <= 2


def test_customer_update_merges_metadata(legacy):
    customer = legacy.v1.customers.create({"email": "a@example.com", "metadata": {"a": "1", "b": "2"}})
    updated = legacy.v1.customers.update(customer.id, {"name": "New", "metadata": {"a": "", "c": "3"}})
    assert updated.name == "New"
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}


def test_deleted_customer_is_a_deleted_stub(legacy):
    customer = legacy.v1.customers.create({"email": "a@example.com"})
    deleted = legacy.v1.customers.delete(customer.id)
    assert deleted.deleted is True
    again = legacy.v1.customers.retrieve(customer.id)
    assert again.deleted is True
    assert legacy.v1.customers.list().data == []


def test_customer_list_filters_by_email(legacy):
    legacy.v1.customers.create({"email": "a@example.com"})
    b = legacy.v1.customers.create({"email": "b@example.com"})
    assert [c.id for c in legacy.v1.customers.list({"email": "b@example.com"}).data] == [b.id]


def test_customer_search_by_email_and_metadata(legacy):
    a = legacy.v1.customers.create({"email": "a@example.com", "metadata": {"user_id": "7"}})
    legacy.v1.customers.create({"email": "b@example.com", "metadata": {"user_id": "8"}})
    by_email = legacy.v1.customers.search({"query": "email:'a@example.com'"})
    assert by_email.object == "search_result"
    assert [c.id for c in by_email.data] == [a.id]
    by_metadata = legacy.v1.customers.search({"query": "metadata['user_id']:'7'"})
    assert [c.id for c in by_metadata.data] == [a.id]
    both = legacy.v1.customers.search({"query": "email:'a@example.com' AND metadata['user_id']:'8'"})
    assert both.data == []


def test_list_is_newest_first_with_cursor_pagination(legacy):
    ids = [legacy.v1.customers.create({"email": f"{i}@example.com"}).id for i in range(5)]
    newest_first = list(reversed(ids))
    page = legacy.v1.customers.list({"limit": 2})
    assert page.object == "list"
    assert page.url == "/v1/customers"
    assert [c.id for c in page.data] == newest_first[:2]
    assert page.has_more is True
    page2 = legacy.v1.customers.list({"limit": 2, "starting_after": page.data[-1].id})
    assert [c.id for c in page2.data] == newest_first[2:4]
    last = legacy.v1.customers.list({"limit": 2, "starting_after": page2.data[-1].id})
    assert [c.id for c in last.data] == newest_first[4:]
    assert last.has_more is False
    before = legacy.v1.customers.list({"limit": 2, "ending_before": newest_first[3]})
    assert [c.id for c in before.data] == newest_first[1:3]
    assert before.has_more is True
    assert [c.id for c in legacy.v1.customers.list().auto_paging_iter()] == newest_first


def test_list_default_limit_is_ten_and_limit_is_bounded(legacy):
    for i in range(12):
        legacy.v1.customers.create({"email": f"{i}@example.com"})
    assert len(legacy.v1.customers.list().data) == 10
    with pytest.raises(stripe.InvalidRequestError) as info:
        legacy.v1.customers.list({"limit": 101})
    assert info.value.param == "limit"
