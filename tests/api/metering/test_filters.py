"""Meter filters: every field and op, path templates, AND/OR groups, and validation errors with their path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from portal_api.errors import Unprocessable
from portal_api.metering.events import EventView
from portal_api.metering.meters.filters import compile_filter, filter_adapter
from portal_api.metering.meters.service import parse_filters


def view(**fields: Any) -> EventView:
    base: dict[str, Any] = {
        "route": "/v1/items/42",
        "method": "GET",
        "status": 200,
        "external_user_id": "ext-7",
        "portal_user_id": "usr_1",
        "company_id": "cus_123",
        "weight": 1,
        "request_headers": {"x-tier": "gold", "content-length": "120"},
        "response_headers": {"content-type": "application/json", "x-cache": "HIT"},
        "metadata": {"plan": "pro", "tokens": 250, "model": {"name": "large"}, "tags": ["a", "b"]},
    }
    base.update(fields)
    return EventView(**base)


def matches(tree: Any, event: EventView | None = None) -> bool:
    return compile_filter(filter_adapter.validate_python(tree))(event or view())


@pytest.mark.parametrize(
    ("template", "route", "expected"),
    [
        ("/v1/items/{id}", "/v1/items/42", True),
        ("/v1/items/{id}", "/v1/items/42/", True),
        ("/v1/items/{id}", "/v1/items", False),
        ("/v1/items/{id}", "/v1/items/42/reviews", False),
        ("/v1/items/{id}/reviews", "/v1/items/42/reviews", True),
        ("/v1/files/{path:path}", "/v1/files/a/b/c.txt", True),
        ("/v1/items", "/v1/items", True),
        ("/v1/items", "/v1/items/42", False),
        ("/v1/a.b", "/v1/aXb", False),
    ],
)
def test_route_path_templates(template: str, route: str, expected: bool) -> None:
    assert matches({"field": "route", "value": template}, view(route=route)) is expected


def test_route_neq_and_contains() -> None:
    assert matches({"field": "route", "op": "neq", "value": "/v1/other/{id}"})
    assert matches({"field": "route", "op": "contains", "value": "items"})
    assert not matches({"field": "route", "op": "contains", "value": "orders"})


def test_method_is_case_insensitive() -> None:
    assert matches({"field": "method", "value": "get"})
    assert matches({"field": "method", "op": "neq", "value": "POST"})
    assert not matches({"field": "method", "value": "POST"})


@pytest.mark.parametrize(
    ("value", "status", "expected"),
    [
        (200, 200, True),
        ("200", 200, True),
        (200, 201, False),
        ("2xx", 299, True),
        ("2xx", 300, False),
        ("4xx", 404, True),
        ("200-204", 204, True),
        ("200-204", 205, False),
        ("2xx", None, False),
    ],
)
def test_status_code_class_and_range(value: Any, status: int | None, expected: bool) -> None:
    assert matches({"field": "status", "value": value}, view(status=status)) is expected


def test_status_gt_lt() -> None:
    assert matches({"field": "status", "op": "lt", "value": 300})
    assert not matches({"field": "status", "op": "gt", "value": 399})


def test_user_matches_sent_user_id_or_attributed_portal_user() -> None:
    assert matches({"field": "user", "value": "ext-7"})
    assert matches({"field": "user", "value": "usr_1"})
    assert not matches({"field": "user", "value": "someone"})
    assert matches({"field": "user", "op": "neq", "value": "someone"})
    assert matches({"field": "user", "op": "contains", "value": "ext"})
    assert matches({"field": "user", "op": "exists"})
    assert matches(
        {"field": "user", "op": "exists", "value": False}, view(external_user_id=None, portal_user_id=None)
    )


def test_company() -> None:
    assert matches({"field": "company", "value": "cus_123"})
    assert not matches({"field": "company", "value": "cus_999"})
    assert matches({"field": "company", "op": "exists", "value": False}, view(company_id=None))


def test_headers_case_insensitive_name_with_each_op() -> None:
    assert matches({"field": "request.headers.X-Tier", "value": "gold"})
    assert matches({"field": "request.headers.x-tier", "op": "neq", "value": "silver"})
    assert matches({"field": "request.headers.x-tier", "op": "contains", "value": "ol"})
    assert matches({"field": "request.headers.x-tier", "op": "exists"})
    assert matches({"field": "request.headers.x-missing", "op": "exists", "value": False})
    assert matches({"field": "request.headers.content-length", "op": "gt", "value": 100})
    assert not matches({"field": "request.headers.content-length", "op": "lt", "value": 100})
    assert matches({"field": "response.headers.x-cache", "value": "HIT"})
    assert not matches({"field": "response.headers.x-cache", "value": "MISS"})


def test_metadata_nested_paths_numbers_and_lists() -> None:
    assert matches({"field": "metadata.plan", "value": "pro"})
    assert matches({"field": "metadata.model.name", "value": "large"})
    assert matches({"field": "metadata.tokens", "value": 250})
    assert matches({"field": "metadata.tokens", "value": 250.0})
    assert matches({"field": "metadata.tokens", "op": "gt", "value": 100})
    assert not matches({"field": "metadata.tokens", "op": "lt", "value": 100})
    assert matches({"field": "metadata.tags", "op": "contains", "value": "b"})
    assert not matches({"field": "metadata.plan", "op": "gt", "value": 1})  # not a number: no match
    assert matches({"field": "properties.plan", "value": "pro"})  # the name used by /v1/usage/events
    assert not matches({"field": "metadata.missing", "value": "x"})
    assert matches({"field": "metadata.missing", "op": "neq", "value": "x"})


def test_weight() -> None:
    assert matches({"field": "weight", "value": 1})
    assert matches({"field": "weight", "op": "gt", "value": 1}, view(weight=5))


def test_nested_and_or_groups() -> None:
    tree = {
        "and": [
            {"field": "route", "value": "/v1/items/{id}"},
            {
                "or": [
                    {"field": "metadata.plan", "value": "free"},
                    {"field": "request.headers.x-tier", "value": "gold"},
                ]
            },
            {"or": [{"field": "status", "value": "2xx"}, {"field": "status", "value": 404}]},
        ]
    }
    assert matches(tree)
    assert not matches(tree, view(request_headers={"x-tier": "bronze"}))
    assert matches(tree, view(status=404))
    assert not matches(tree, view(status=500))
    assert matches(
        {"or": [{"field": "method", "value": "POST"}, {"and": [{"field": "method", "value": "GET"}]}]}
    )


def test_no_filter_matches_everything() -> None:
    assert compile_filter(None)(view())


@pytest.mark.parametrize(
    ("tree", "path", "fragment"),
    [
        ({"field": "colour", "value": "red"}, "filters.field", "unknown field 'colour'"),
        (
            {"and": [{"field": "route", "value": "/a"}, {"field": "status", "value": "2xy"}]},
            "filters.and[1].value",
            "2xx",
        ),
        (
            {"and": [{"or": [{"field": "method", "op": "gt", "value": 1}]}]},
            "filters.and[0].or[0].op",
            "op 'gt'",
        ),
        ({"and": []}, "filters.and", "at least 1"),
        ({"or": [{"field": "metadata.x", "op": "lt", "value": "abc"}]}, "filters.or[0].value", "numeric"),
        ({"field": "route", "value": "items"}, "filters.value", "starting with '/'"),
        ({"field": "metadata.x", "op": "like", "value": "a"}, "filters.op", "eq"),
        ({"field": "metadata.x", "value": "a", "extra": 1}, "filters.extra", "Extra inputs"),
        ({"field": "metadata.x", "op": "exists", "value": "yes"}, "filters.value", "exists"),
        ({"field": "metadata.x", "op": "contains"}, "filters.value", "needs a value"),
        ({"field": "metadata. ", "value": "a"}, "filters.field", "unknown field"),
        ({"field": "route", "value": ["/a"]}, "filters.value", "text, a number, true or false"),
        ([1, 2], "filters", "condition or an and/or group"),
    ],
)
def test_bad_filters_are_422_with_the_path_of_the_problem(tree: Any, path: str, fragment: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        parse_filters(tree)
    assert caught.value.code == "invalid_filter"
    assert caught.value.details["path"] == path
    assert fragment in caught.value.message and caught.value.message.startswith(path + ":")


@pytest.mark.parametrize(
    ("tree", "path"),
    [
        ({"field": "route", "op": "contains", "value": ""}, "filters.value"),  # would match every call
        (
            {"and": [{"field": "method", "value": "GET"}, {"field": "user", "value": "  "}]},
            "filters.and[1].value",
        ),
        (
            {"or": [{"and": [{"field": "metadata.plan", "op": "neq", "value": "\t"}]}]},
            "filters.or[0].and[0].value",
        ),
        ({"field": "request.headers.x-tier", "op": "exists", "value": ""}, "filters.value"),
        ({"and": [{"field": "company", "op": "eq"}]}, "filters.and[0].value"),  # no value at all
    ],
)
def test_a_condition_with_a_blank_or_missing_value_is_refused_at_its_value(tree: Any, path: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        parse_filters(tree)
    assert caught.value.code == "invalid_filter" and caught.value.details["path"] == path
    assert "blank" in caught.value.message or "needs a value" in caught.value.message


@pytest.mark.parametrize(
    "tree",
    [
        {"and": [{"feild": "route", "value": "/v1/items"}]},  # misspelt key: "field" is missing
        {"all": [{"field": "route", "value": "/v1/items"}]},
        {"and": {"field": "route", "value": "/v1/items"}},  # a group holds a list
    ],
)
def test_a_tree_of_the_wrong_shape_says_what_a_condition_and_a_group_look_like(tree: Any) -> None:
    with pytest.raises(Unprocessable) as caught:
        parse_filters(tree)
    message = caught.value.message
    assert '{"field": "route", "op": "eq", "value": "/v1/items/{id}"}' in message
    assert '{"and": [' in message and '{"or": [...]}' in message


def test_filters_nested_too_deep_are_refused() -> None:
    tree: Any = {"field": "method", "value": "GET"}
    for _ in range(9):
        tree = {"and": [tree]}
    with pytest.raises(Unprocessable, match="nested more than 8 levels"):
        parse_filters(tree)


def test_validation_is_pydantic() -> None:
    with pytest.raises(ValidationError):
        filter_adapter.validate_python({"field": "route", "op": "eq"})
