"""event_matching: for many filter shapes, an event the compiled filter accepts (or a clear reason none can);
unmet: which condition an edited event fails."""

from __future__ import annotations

from typing import Any

import pytest

from portal_api.metering.meters.filters import compile_filter, filter_adapter
from portal_api.metering.meters.matching_event import (
    MAX_ATTEMPTS,
    MeterTestEvent,
    NoMatchingEvent,
    event_matching,
    event_view,
    unmet,
)
from portal_api.metering.meters.metrics import SumField, metric_adapter, sum_reader

USER = "usr_meter_test"


def cond(field: str, value: Any = None, op: str = "eq") -> dict[str, Any]:
    node: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    return node


def derive(tree: Any, metric: Any = None) -> MeterTestEvent:
    node = filter_adapter.validate_python(tree) if tree is not None else None
    event = event_matching(node, user_id=USER, metric=metric)
    # Whatever it builds, the compiled filter (the one truth about matching) must accept it.
    assert compile_filter(node)(event_view(event, USER)), event
    return event


def no_event(tree: Any) -> str:
    with pytest.raises(NoMatchingEvent) as refused:
        event_matching(filter_adapter.validate_python(tree), user_id=USER)
    return str(refused.value)


# Filter shapes an event can meet: each is derived and checked against the compiled filter.
SATISFIABLE = {
    "no filters": None,
    "the README's route and status": {"and": [cond("route", "/v1/search"), cond("status", 200)]},
    "a route template": cond("route", "/v1/items/{id}"),
    "a template with literal text": cond("route", "/v1/items/{id}.json"),
    "a template whose parameter stops at a letter": cond("route", "/v1/{name}t"),
    "two parameters in one segment": cond("route", "/v1/{a}-{b}"),
    "a path parameter": cond("route", "/v1/files/{rest:path}/raw"),
    "a route that is not one": cond("route", "/v1/search", "neq"),
    "a route containing text": cond("route", "search", "contains"),
    "a template containing text": {
        "and": [cond("route", "/files/{rest:path}"), cond("route", "ab", "contains")]
    },
    "a method": cond("method", "post"),
    "not GET": cond("method", "GET", "neq"),
    "a status code as text": cond("status", "404"),
    "a status class": cond("status", "5xx"),
    "a status range": cond("status", "200-299"),
    "a status range but not its start": {"and": [cond("status", "200-204"), cond("status", 200, "neq")]},
    "a status above and below": {"and": [cond("status", 400, "gt"), cond("status", 402, "lt")]},
    "a weight above": cond("weight", 10, "gt"),
    "a weight exactly": cond("weight", 7),
    "a company": cond("company", "cus_42"),
    "no company": cond("company", False, "exists"),
    "a company containing": cond("company", "acme", "contains"),
    "the meter test user": cond("user", USER),
    "any user": cond("user", None, "exists"),
    "not someone else": cond("user", "usr_someone", "neq"),
    "a request header": cond("request.headers.X-Tier", "gold"),
    "a header that exists": cond("request.headers.x-api-version", None, "exists"),
    "a header that is absent": cond("response.headers.x-cache", False, "exists"),
    "a numeric header": cond("response.headers.content-length", 1000, "gt"),
    "a metadata value": cond("metadata.plan", "pro"),
    "a nested metadata value": cond("metadata.model.name", "large"),
    "properties are metadata": {"and": [cond("properties.tier", "gold"), cond("metadata.region", "eu")]},
    "a boolean metadata value": cond("metadata.beta", True),
    "a number between bounds": {"and": [cond("metadata.n", 5, "gt"), cond("metadata.n", 6, "lt")]},
    "a metadata value containing": cond("metadata.path", "v2", "contains"),
    "contains and not equal": {"and": [cond("metadata.k", "a", "contains"), cond("metadata.k", "a", "neq")]},
    "an OR of routes": {"or": [cond("route", "/v1/a"), cond("route", "/v1/b")]},
    "an OR whose first branch contradicts the rest": {
        "and": [
            {"or": [cond("method", "GET"), cond("method", "POST")]},
            cond("method", "GET", "neq"),
        ]
    },
    "an OR of a user no one is and a route": {"or": [cond("user", "usr_other"), cond("route", "/v1/x")]},
    "nested groups": {
        "and": [
            cond("route", "/v1/items/{id}"),
            {"or": [cond("status", "2xx"), cond("status", 304)]},
            {"or": [{"and": [cond("metadata.plan", "pro"), cond("weight", 1, "gt")]}, cond("method", "PUT")]},
        ]
    },
}


@pytest.mark.parametrize("tree", SATISFIABLE.values(), ids=SATISFIABLE.keys())
def test_the_derived_event_is_one_the_filters_accept(tree: Any) -> None:
    derive(tree)


def test_the_readme_meter_gets_its_route_and_status() -> None:
    event = derive({"and": [cond("route", "/v1/search"), cond("status", 200)]})

    assert (event.method, event.route, event.status) == ("GET", "/v1/search", 200)
    assert event.metadata == {"meter_test": True}  # marks the stored event as the test's


def test_values_are_filled_in_as_people_would_expect() -> None:
    assert derive(cond("route", "/v1/items/{id}")).route == "/v1/items/1"
    assert derive(cond("status", "4xx")).status == 400
    assert derive(cond("method", "delete")).method == "DELETE"
    assert derive(cond("weight", 10, "gt")).weight == 11
    assert derive(cond("request.headers.X-Tier", "gold")).request_headers == {"x-tier": "gold"}
    assert derive(cond("metadata.model.name", "large")).metadata["model"] == {"name": "large"}
    assert derive({"and": [cond("metadata.n", 5, "gt"), cond("metadata.n", 6, "lt")]}).metadata["n"] == 5.5


def test_a_summed_field_gets_a_value_so_the_test_adds_usage() -> None:
    metric = metric_adapter.validate_python({"type": "sum", "field": "metadata.tokens"})
    event = derive(cond("route", "/v1/chat"), metric=metric)

    assert isinstance(metric, SumField)
    assert sum_reader(metric)(event_view(event, USER)) == 1


def test_a_summed_field_the_filters_constrain_keeps_their_value() -> None:
    metric = metric_adapter.validate_python({"type": "sum", "field": "metadata.tokens"})

    assert derive(cond("metadata.tokens", 100, "gt"), metric=metric).metadata["tokens"] == 101


@pytest.mark.parametrize(
    ("tree", "reason"),
    [
        ({"and": [cond("route", "/v1/a"), cond("route", "/v1/b")]}, "route is /v1/a and route is /v1/b"),
        ({"and": [cond("method", "GET"), cond("method", "POST")]}, "method is GET and method is POST"),
        ({"and": [cond("status", "2xx"), cond("status", "4xx")]}, "status is 2xx and status is 4xx"),
        ({"and": [cond("status", 200), cond("status", 200, "neq")]}, "status is 200 and status is not 200"),
        ({"and": [cond("weight", 5, "gt"), cond("weight", 6, "lt")]}, "weight > 5 and weight < 6"),
        ({"and": [cond("metadata.x", None, "exists"), cond("metadata.x", False, "exists")]}, "metadata.x"),
        ({"and": [cond("metadata.a", "x"), cond("metadata.a.b", None, "exists")]}, "metadata.a"),
        (cond("status", 600, "gt"), "no status can satisfy status > 600"),
    ],
)
def test_contradictory_conditions_are_named(tree: Any, reason: str) -> None:
    message = no_event(tree)

    assert message.startswith("No event can match this meter's filters")
    assert reason in message


def test_a_filter_on_another_user_cannot_be_met_by_the_meter_test_customer() -> None:
    message = no_event(cond("user", "usr_alice"))

    assert "user is usr_alice" in message and USER in message and "real customer" in message


def test_when_every_alternative_fails_each_reason_is_given() -> None:
    message = no_event(
        {"and": [cond("method", "GET"), {"or": [cond("method", "POST"), cond("method", "PUT")]}]}
    )

    assert "no alternative can be met" in message
    assert "method is GET and method is POST" in message and "method is GET and method is PUT" in message


def test_the_search_is_bounded_and_says_so() -> None:
    # 2^13 ways of choosing, each contradicting the last condition: given up after MAX_ATTEMPTS.
    tree = {
        "and": [
            *({"or": [cond(f"metadata.k{i}", "a"), cond(f"metadata.k{i}", "b")]} for i in range(12)),
            {"or": [cond("route", "/x"), cond("route", "/y")]},
            cond("route", "/z"),
        ]
    }
    assert MAX_ATTEMPTS < 2**13

    message = no_event(tree)

    assert f"in the first {MAX_ATTEMPTS} ways" in message and "give the event by hand" in message
    assert "route is /x and route is /z" in message


def test_an_edited_event_that_matches_has_nothing_unmet() -> None:
    tree = filter_adapter.validate_python({"and": [cond("route", "/v1/search"), cond("status", "2xx")]})
    event = MeterTestEvent(route="/v1/search?q=cats", method="post", status=201, metadata={"x": 1})

    assert unmet(tree, event, USER) is None
    assert unmet(None, MeterTestEvent(), USER) is None


def test_an_edited_event_that_does_not_match_says_which_condition_fails() -> None:
    tree = filter_adapter.validate_python({"and": [cond("route", "/v1/search"), cond("status", 200)]})

    assert (
        unmet(tree, MeterTestEvent(route="/v1/other"), USER)
        == "route is /v1/search (the event has /v1/other)"
    )
    assert unmet(tree, MeterTestEvent(route="/v1/search", status=None), USER) == (
        "status is 200 (the event has nothing)"
    )


def test_an_edited_event_failing_every_branch_lists_them() -> None:
    tree = filter_adapter.validate_python({"or": [cond("method", "PUT"), cond("metadata.plan", "pro")]})

    said = unmet(tree, MeterTestEvent(), USER)

    assert said == "none of: method is PUT (the event has GET); metadata.plan is pro (the event has nothing)"
