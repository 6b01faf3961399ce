"""The meter filter builder's rows and groups, and their translation to and from the API's JSON filter tree.

The builder shows one top group (AND or OR) of conditions plus optional sub-groups, each AND or OR of its
own conditions: `{"and": [cond, cond, {"or": [cond, cond]}]}`. Deeper trees are edited as JSON instead.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

# Field choices: simple fields, and fields that need a name (a header) or a path (metadata).
FIELD_LABELS = {
    "route": "Route",
    "method": "Method",
    "status": "Status code",
    "user": "User",
    "company": "Company",
    "weight": "Weight",
    "request.headers": "Request header",
    "response.headers": "Response header",
    "metadata": "Metadata field",
}
KEYED_FIELDS = ("request.headers", "response.headers", "metadata")
ALL_OPS = ["eq", "neq", "contains", "exists", "gt", "lt"]
# What the API accepts per field (portal_api/metering/meters/filters.py); keyed fields take every op.
FIELD_OPS = {
    "route": ["eq", "neq", "contains"],
    "method": ["eq", "neq"],
    "status": ["eq", "neq", "gt", "lt"],
    "user": ["eq", "neq", "contains", "exists"],
    "company": ["eq", "neq", "contains", "exists"],
    "weight": ["eq", "neq", "gt", "lt"],
}
OP_LABELS = {
    "eq": "is",
    "neq": "is not",
    "contains": "contains",
    "exists": "is present",
    "gt": "is greater than",
    "lt": "is less than",
}
VALUE_PLACEHOLDERS = {
    "route": "/v1/items/{id}",
    "method": "GET",
    "status": "200, 2xx or 200-299",
    "user": "user id",
    "company": "company id",
    "weight": "1",
}
KEY_PLACEHOLDERS = {"request.headers": "x-tier", "response.headers": "x-cache", "metadata": "plan.tier"}
# Values of these fields stay text; other fields' numeric-looking values are sent as numbers.
TEXT_FIELDS = ("route", "method", "status", "user", "company")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# Shown under an error of the JSON editor: what the API takes (portal_api/metering/meters/filters.py).
JSON_SHAPE_HINT = "\n".join(
    [
        'A condition:  {"field": "route", "op": "eq", "value": "/v1/items/{id}"}',
        'A group:      {"and": [<conditions or groups>]}   or   {"or": [...]}',
        "Fields: route, method, status, user, company, weight, request.headers.<name>,",
        "        response.headers.<name>, metadata.<path>",
        'Ops: eq, neq, contains, gt, lt, exists (no "value"); every other op needs a value that is not blank',
    ]
)
_PATH_PART = re.compile(r"\.(and|or)\[(\d+)\]")


@dataclasses.dataclass
class FilterRow:
    """One condition: field (+ name/path for headers and metadata), op, value, and the API's complaint."""

    id: int = 0
    field: str = "route"
    key: str = ""
    op: str = "eq"
    value: str = ""
    error: str = ""
    # Derived from field/op so the page needs no logic: which ops apply, what inputs to show.
    ops: list[str] = dataclasses.field(default_factory=lambda: list(FIELD_OPS["route"]))
    keyed: bool = False
    needs_value: bool = True
    key_placeholder: str = ""
    value_placeholder: str = VALUE_PLACEHOLDERS["route"]


@dataclasses.dataclass
class FilterGroup:
    id: int = 0
    mode: str = "or"
    rows: list[FilterRow] = dataclasses.field(default_factory=list)


def refresh_row(row: FilterRow) -> FilterRow:
    """Recompute a row's derived fields; an op the field does not take falls back to the field's first."""
    row.keyed = row.field in KEYED_FIELDS
    row.ops = list(ALL_OPS) if row.keyed else list(FIELD_OPS.get(row.field, ["eq"]))
    if row.op not in row.ops:
        row.op = row.ops[0]
    row.needs_value = row.op != "exists"
    row.key_placeholder = KEY_PLACEHOLDERS.get(row.field, "")
    row.value_placeholder = VALUE_PLACEHOLDERS.get(row.field, "value")
    return row


def new_row(row_id: int, field: str = "route") -> FilterRow:
    return refresh_row(FilterRow(id=row_id, field=field))


def field_name(row: FilterRow) -> str:
    """The API's field: `route`, or `request.headers.x-tier`, `metadata.plan.tier`."""
    return f"{row.field}.{row.key.strip()}" if row.keyed else row.field


def _value(row: FilterRow) -> Any:
    text = row.value.strip()
    if row.field not in TEXT_FIELDS and _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    return text


def condition(row: FilterRow) -> dict[str, Any]:
    cond: dict[str, Any] = {"field": field_name(row), "op": row.op}
    if row.needs_value:
        cond["value"] = _value(row)
    return cond


def missing_part(row: FilterRow) -> str:
    """Why the row is not a condition yet ("" when it is): a blank value is never dropped silently, since a
    meter whose only condition vanished would count every event."""
    if row.keyed and not row.key.strip():
        return "Name the header or metadata field."
    if row.needs_value and not row.value.strip():
        return "Enter a value, or remove this condition."
    return ""


def to_tree(mode: str, rows: list[FilterRow], groups: list[FilterGroup]) -> dict[str, Any] | None:
    """The JSON tree for the API: top-level conditions first, then sub-groups; None when there is no row
    (every event counts)."""
    children: list[dict[str, Any]] = [condition(row) for row in rows]
    for group in groups:
        conditions = [condition(row) for row in group.rows]
        if conditions:
            children.append({group.mode: conditions})
    if not children:
        return None
    return {mode: children}


def locate_error(path: str, rows: list[FilterRow], groups: list[FilterGroup]) -> tuple[int, int] | None:
    """The builder row an API error path such as `filters.and[3].or[1].value` is about, or None.

    Returns (group, row) with group -1 for the top group.
    """
    indexes = [int(found.group(2)) for found in _PATH_PART.finditer(path)]
    if not indexes:
        return None
    top = [(-1, r) for r in range(len(rows))]
    top += [(g, -1) for g, group in enumerate(groups) if group.rows]
    if indexes[0] >= len(top):
        return None
    group, row = top[indexes[0]]
    if group == -1:
        return group, row
    if len(indexes) > 1 and indexes[1] < len(groups[group].rows):
        return group, indexes[1]
    return group, 0


class TooDeep(ValueError):
    """The tree nests deeper than the builder shows; edit it as JSON."""


def _row_from_condition(node: dict[str, Any], row_id: int) -> FilterRow:
    field = str(node.get("field", ""))
    key = ""
    for prefix in KEYED_FIELDS:
        if field.startswith(prefix + "."):
            field, key = prefix, field[len(prefix) + 1 :]
            break
    if field.startswith("properties."):
        field, key = "metadata", field[len("properties.") :]
    if field not in FIELD_LABELS:
        raise TooDeep(f"unknown field {field!r}")
    value = node.get("value")
    row = FilterRow(
        id=row_id,
        field=field,
        key=key,
        op=str(node.get("op", "eq")),
        value="" if value is None else str(value).lower() if isinstance(value, bool) else str(value),
    )
    return refresh_row(row)


def _group_parts(node: dict[str, Any]) -> tuple[str, list[Any]] | None:
    for mode in ("and", "or"):
        if isinstance(node.get(mode), list):
            return mode, node[mode]
    return None


def from_tree(tree: Any) -> tuple[str, list[FilterRow], list[FilterGroup]]:
    """The builder's (mode, rows, groups) for a tree the API stored; TooDeep when it cannot show it."""
    if tree is None:
        return "and", [], []
    if not isinstance(tree, dict):
        raise TooDeep("not a filter tree")
    next_id = iter(range(1, 10_000))
    parts = _group_parts(tree)
    if parts is None:
        return "and", [_row_from_condition(tree, next(next_id))], []
    mode, children = parts
    rows: list[FilterRow] = []
    groups: list[FilterGroup] = []
    for child in children:
        if not isinstance(child, dict):
            raise TooDeep("not a filter tree")
        child_parts = _group_parts(child)
        if child_parts is None:
            rows.append(_row_from_condition(child, next(next_id)))
            continue
        child_mode, grandchildren = child_parts
        group = FilterGroup(id=next(next_id), mode=child_mode)
        for grandchild in grandchildren:
            if not isinstance(grandchild, dict) or _group_parts(grandchild) is not None:
                raise TooDeep("groups nested more than one level")
            group.rows.append(_row_from_condition(grandchild, next(next_id)))
        groups.append(group)
    return mode, rows, groups


def describe_tree(tree: Any) -> str:
    """A filter tree in one line for the meters table: `route is /v1/items/{id} AND status is 2xx`."""
    if tree is None:
        return "Every event"
    if not isinstance(tree, dict):
        return json.dumps(tree)
    parts = _group_parts(tree)
    if parts is None:
        field, op = tree.get("field", "?"), OP_LABELS.get(str(tree.get("op", "eq")), tree.get("op"))
        if tree.get("op") == "exists":
            return f"{field} {op}"
        return f"{field} {op} {tree.get('value')}"
    mode, children = parts
    described = [describe_tree(child) for child in children]
    joined = f" {mode.upper()} ".join(
        f"({text})" if isinstance(child, dict) and _group_parts(child) else text
        for child, text in zip(children, described, strict=True)
    )
    return joined
