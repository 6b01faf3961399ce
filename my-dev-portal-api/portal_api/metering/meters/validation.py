"""Pure validation of a meter's filter tree and metric, with errors that name the offending path."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from portal_api.errors import Unprocessable
from portal_api.metering.meters.filters import (
    FILTER_SHAPE,
    MAX_CONDITIONS,
    MAX_DEPTH,
    AndGroup,
    Condition,
    ConditionProblem,
    OrGroup,
    error_path,
    filter_adapter,
    tree_stats,
)
from portal_api.metering.meters.metrics import metric_adapter


def _clean_message(message: str) -> str:
    return message.removeprefix("Value error, ")


def parse_filters(raw: Any) -> AndGroup | OrGroup | Condition | None:
    """Validate a filter tree; 422 `invalid_filter` naming the path of the first problem.

    A condition's problem points at its part (`filters.and[1].value`); a tree of the wrong shape (a missing
    or unknown key, a list where a node belongs) says what a condition and a group look like."""
    if raw is None:
        return None
    try:
        node = filter_adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = error_path(tuple(first["loc"]))
        message = _clean_message(first["msg"])
        problem = (first.get("ctx") or {}).get("error")
        if isinstance(problem, ConditionProblem):
            path = f"{path}.{problem.part}"
        elif path.endswith(".value"):
            message = "value must be text, a number, true or false"
        elif first["type"] not in ("literal_error", "string_too_long"):
            message = f"{message} ({FILTER_SHAPE})"
        raise Unprocessable(f"{path}: {message}", code="invalid_filter", path=path) from None
    depth, conditions = tree_stats(node)
    if depth > MAX_DEPTH:
        raise Unprocessable(
            f"filters: nested more than {MAX_DEPTH} levels deep", code="invalid_filter", path="filters"
        )
    if conditions > MAX_CONDITIONS:
        raise Unprocessable(
            f"filters: more than {MAX_CONDITIONS} conditions", code="invalid_filter", path="filters"
        )
    return node


def parse_metric(raw: Any) -> Any:
    try:
        return metric_adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        parts = [
            str(p) for p in first["loc"] if p not in ("event_count", "unique_users", "unique_sessions", "sum")
        ]
        path = ".".join(["metric", *parts])
        raise Unprocessable(
            f"{path}: {_clean_message(first['msg'])}", code="invalid_metric", path=path
        ) from None
