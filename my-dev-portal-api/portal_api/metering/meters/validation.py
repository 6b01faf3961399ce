"""Pure validation of a meter's filter tree and metric, with errors that name the offending path."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from portal_api.errors import Unprocessable
from portal_api.metering.meters.filters import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    AndGroup,
    Condition,
    OrGroup,
    error_path,
    filter_adapter,
    tree_stats,
)
from portal_api.metering.meters.metrics import metric_adapter


def _clean_message(message: str) -> str:
    return message.removeprefix("Value error, ")


def parse_filters(raw: Any) -> AndGroup | OrGroup | Condition | None:
    """Validate a filter tree; 422 `invalid_filter` naming the path of the first problem."""
    if raw is None:
        return None
    try:
        node = filter_adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = error_path(tuple(first["loc"]))
        raise Unprocessable(
            f"{path}: {_clean_message(first['msg'])}", code="invalid_filter", path=path
        ) from None
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
