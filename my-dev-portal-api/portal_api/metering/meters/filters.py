"""Meter filters: a JSON tree of AND/OR groups and conditions, validated with pydantic, compiled to checks.

    {"and": [
        {"field": "route", "op": "eq", "value": "/v1/items/{id}"},
        {"field": "status", "value": "2xx"},
        {"or": [{"field": "metadata.plan", "value": "pro"},
                {"field": "request.headers.x-tier", "op": "exists"}]}
    ]}

Fields: `route` (path templates, see route_templates.py: `{name}` within a segment, `{name:path}` the rest),
`method`, `status` (a code, a class like "2xx" or a range like "200-299"), `user` (the user id sent with the
event, or the portal user it was attributed to), `company`, `weight`, `request.headers.<name>`,
`response.headers.<name>` and `metadata.<path>` (`properties.<path>` is the same for events sent to
/v1/usage/events).
Ops: eq, neq (= not eq, so a missing field is "not equal"), contains, exists, gt, lt. Every op but `exists`
needs a value, and a blank one ("" or spaces) is refused: `contains ""` would match every event, so a
forgotten value must not quietly turn a meter into "count everything".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, model_validator

from portal_api.metering.events import EventView
from portal_api.metering.meters.route_templates import RouteTemplate

MAX_DEPTH = 8
MAX_CONDITIONS = 100

Op = Literal["eq", "neq", "contains", "exists", "gt", "lt"]
Scalar = str | int | float | bool

SIMPLE_FIELD_OPS: dict[str, set[str]] = {
    "route": {"eq", "neq", "contains"},
    "method": {"eq", "neq"},
    "status": {"eq", "neq", "gt", "lt"},
    "user": {"eq", "neq", "contains", "exists"},
    "company": {"eq", "neq", "contains", "exists"},
    "weight": {"eq", "neq", "gt", "lt"},
}
PATH_PREFIXES = ("request.headers.", "response.headers.", "metadata.", "properties.")
STATUS_CLASS = re.compile(r"^[1-5]xx$")
STATUS_RANGE = re.compile(r"^(\d{3})\s*-\s*(\d{3})$")


# The two shapes a filter node takes, for error messages that say what was expected.
FILTER_SHAPE = (
    'a condition is {"field": "route", "op": "eq", "value": "/v1/items/{id}"}; '
    'a group is {"and": [<conditions or groups>]} or {"or": [...]}'
)


class ConditionProblem(ValueError):
    """A condition's field, op or value is wrong; `part` names which, so errors point at it."""

    def __init__(self, message: str, part: Literal["field", "op", "value"]) -> None:
        super().__init__(message)
        self.part = part


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, max_length=300)
    op: Op = "eq"
    value: Scalar | None = None

    @model_validator(mode="after")
    def _check(self) -> Condition:
        check_condition(self)
        return self


class AndGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    all_of: list[FilterNode] = Field(alias="and", min_length=1, max_length=MAX_CONDITIONS)


class OrGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    any_of: list[FilterNode] = Field(alias="or", min_length=1, max_length=MAX_CONDITIONS)


def _node_kind(value: Any) -> str:
    if isinstance(value, dict):
        if "and" in value:
            return "and"
        if "or" in value:
            return "or"
        return "condition"
    if isinstance(value, AndGroup):
        return "and"
    if isinstance(value, OrGroup):
        return "or"
    if isinstance(value, Condition):
        return "condition"
    return "not-a-node"  # an unknown tag: pydantic reports the custom message below


FilterNode = Annotated[
    Annotated[AndGroup, Tag("and")] | Annotated[OrGroup, Tag("or")] | Annotated[Condition, Tag("condition")],
    Discriminator(
        _node_kind,
        custom_error_type="invalid_filter_node",
        custom_error_message="each filter node is a condition or an and/or group",
    ),
]
AndGroup.model_rebuild()
OrGroup.model_rebuild()
filter_adapter: TypeAdapter[AndGroup | OrGroup | Condition] = TypeAdapter(FilterNode)


def check_condition(cond: Condition) -> None:
    """Field/op/value combinations; raises ConditionProblem naming the problem and the part it is in."""
    field, op, value = cond.field, cond.op, cond.value
    allowed = SIMPLE_FIELD_OPS.get(field)
    if allowed is None:
        if not field.startswith(PATH_PREFIXES) or not _named_path(field):
            raise ConditionProblem(
                f"unknown field {field!r}: use route, method, status, user, company, weight, "
                "request.headers.<name>, response.headers.<name> or metadata.<path>",
                "field",
            )
        allowed = {"eq", "neq", "contains", "exists", "gt", "lt"}
    if op not in allowed:
        raise ConditionProblem(
            f"op {op!r} does not apply to {field!r} (allowed: {', '.join(sorted(allowed))})", "op"
        )
    if isinstance(value, str) and not value.strip():
        raise ConditionProblem(
            "value is blank: enter what to compare with, or remove the condition to count every event",
            "value",
        )
    if op == "exists":
        if value is not None and not isinstance(value, bool):
            raise ConditionProblem("value of an exists condition is true, false or omitted", "value")
        return
    if value is None:
        raise ConditionProblem(f"op {op!r} needs a value", "value")
    if op in ("gt", "lt") and (isinstance(value, bool) or as_number(value) is None):
        raise ConditionProblem(f"op {op!r} needs a numeric value", "value")
    if op == "contains" and not isinstance(value, str):
        raise ConditionProblem("op 'contains' needs a string value", "value")
    try:
        if field == "route" and op in ("eq", "neq"):
            if not isinstance(value, str) or not value.startswith("/"):
                raise ValueError("route value must be a path starting with '/', like /v1/items/{id}")
            RouteTemplate(value)  # at most one {name:path}, as a whole segment
        if field == "method" and not (isinstance(value, str) and value.isalpha()):
            raise ValueError("method value must be an HTTP method like GET")
        if field == "status" and op in ("eq", "neq"):
            status_matcher(value)
    except ValueError as exc:
        raise ConditionProblem(str(exc), "value") from None


def _named_path(field: str) -> bool:
    """`metadata.plan.tier`: every segment after the prefix is a name (no blank ones, no stray spaces)."""
    prefix = next(p for p in PATH_PREFIXES if field.startswith(p))
    return all(part and part == part.strip() for part in field[len(prefix) :].split("."))


def status_matcher(value: Scalar) -> Callable[[int | None], bool]:
    """A status test from 404, "404", "4xx" or "200-299"; ValueError for anything else."""
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        code = value
        return lambda s: s == code
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit() and 100 <= int(text) <= 599:
            code = int(text)
            return lambda s: s == code
        if STATUS_CLASS.match(text):
            low = int(text[0]) * 100
            return lambda s: s is not None and low <= s <= low + 99
        found = STATUS_RANGE.match(text)
        if found and int(found.group(1)) <= int(found.group(2)):
            low, high = int(found.group(1)), int(found.group(2))
            return lambda s: s is not None and low <= s <= high
    raise ValueError("status value must be a code like 404, a class like '2xx' or a range like '200-299'")


def as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


MISSING = object()


def field_getter(field: str) -> Callable[[EventView], Any]:
    """Reads a field of an event view; MISSING when it is absent."""
    if field == "route":
        return lambda e: e.route
    if field == "method":
        return lambda e: e.method
    if field == "status":
        return lambda e: MISSING if e.status is None else e.status
    if field == "weight":
        return lambda e: e.weight
    if field == "company":
        return lambda e: MISSING if e.company_id is None else e.company_id
    for prefix, attribute in (
        ("request.headers.", "request_headers"),
        ("response.headers.", "response_headers"),
    ):
        if field.startswith(prefix):
            name = field[len(prefix) :].lower()
            return lambda e, a=attribute, n=name: getattr(e, a).get(n, MISSING)  # type: ignore[misc]
    prefix = "metadata." if field.startswith("metadata.") else "properties."
    path = field[len(prefix) :].split(".")

    def nested(e: EventView) -> Any:
        current: Any = e.metadata
        for key in path:
            if not isinstance(current, dict) or key not in current:
                return MISSING
            current = current[key]
        return MISSING if current is None else current

    return nested


def values_equal(actual: Any, expected: Scalar) -> bool:
    if actual is MISSING:
        return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(actual).lower() == str(expected).lower()
    if isinstance(expected, int | float):
        number = as_number(actual)
        return number is not None and number == as_number(expected)
    if isinstance(actual, list):
        return any(str(item) == expected for item in actual)
    return str(actual) == expected


def compile_condition(cond: Condition) -> Callable[[EventView], bool]:
    field, op, value = cond.field, cond.op, cond.value
    if field == "user":
        return _user_predicate(op, value)
    if field == "route" and op in ("eq", "neq"):
        template = RouteTemplate(str(value))
        matches: Callable[[EventView], bool] = lambda e: template.matches(e.route)  # noqa: E731
    elif field == "method" and op in ("eq", "neq"):
        method = str(value).upper()
        matches = lambda e: e.method == method  # noqa: E731
    elif field == "status" and op in ("eq", "neq"):
        test = status_matcher(value)  # type: ignore[arg-type]
        matches = lambda e: test(e.status)  # noqa: E731
    else:
        return _generic_predicate(field_getter(field), op, value)
    if op == "neq":
        return lambda e: not matches(e)
    return matches


def _user_predicate(op: str, value: Scalar | None) -> Callable[[EventView], bool]:
    if op == "exists":
        wanted = value is not False
        return lambda e: (e.external_user_id is not None or e.portal_user_id is not None) == wanted
    if op == "contains":
        text = str(value)
        return lambda e: text in (e.external_user_id or "") or text in (e.portal_user_id or "")
    expected = str(value)
    same: Callable[[EventView], bool] = lambda e: expected in (e.external_user_id, e.portal_user_id)  # noqa: E731
    return same if op == "eq" else (lambda e: not same(e))


def _generic_predicate(
    get: Callable[[EventView], Any], op: str, value: Scalar | None
) -> Callable[[EventView], bool]:
    if op == "exists":
        wanted = value is not False
        return lambda e: (get(e) is not MISSING) == wanted
    if op == "eq":
        return lambda e: values_equal(get(e), value)  # type: ignore[arg-type]
    if op == "neq":
        return lambda e: not values_equal(get(e), value)  # type: ignore[arg-type]
    if op == "contains":
        text = str(value)

        def contains(e: EventView) -> bool:
            actual = get(e)
            if actual is MISSING:
                return False
            if isinstance(actual, list):
                return any(str(item) == text for item in actual)
            return text in str(actual)

        return contains
    bound = as_number(value)
    assert bound is not None  # checked by validation

    def compare(e: EventView) -> bool:
        number = as_number(get(e))
        if number is None:
            return False
        return number > bound if op == "gt" else number < bound

    return compare


def compile_filter(node: AndGroup | OrGroup | Condition | None) -> Callable[[EventView], bool]:
    """A predicate for the tree; no filter matches every event."""
    if node is None:
        return lambda e: True
    if isinstance(node, Condition):
        return compile_condition(node)
    children = [
        compile_filter(child) for child in (node.all_of if isinstance(node, AndGroup) else node.any_of)
    ]
    if isinstance(node, AndGroup):
        return lambda e: all(child(e) for child in children)
    return lambda e: any(child(e) for child in children)


def tree_stats(node: AndGroup | OrGroup | Condition, depth: int = 1) -> tuple[int, int]:
    """(depth, number of conditions) of a validated tree."""
    if isinstance(node, Condition):
        return depth, 1
    children = node.all_of if isinstance(node, AndGroup) else node.any_of
    stats = [tree_stats(child, depth + 1) for child in children]
    return max(s[0] for s in stats), sum(s[1] for s in stats)


def error_path(loc: tuple[int | str, ...], root: str = "filters") -> str:
    """A pydantic error location as `filters.and[1].or[0].value` (union tags dropped)."""
    path = root
    items = list(loc)
    position = 0
    while position < len(items):
        part = items[position]
        following = items[position + 1] if position + 1 < len(items) else None
        if part == "condition" or (part in ("and", "or") and following == part):
            position += 1
            continue
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
        if part == "value":
            break  # what follows names the scalar types the value was tried as
        position += 1
    return path


def dump_filter(node: AndGroup | OrGroup | Condition | None) -> Any:
    if node is None:
        return None
    return node.model_dump(by_alias=True, exclude_none=True)
