"""Decode Stripe's form encoding (``line_items[0][price]=``, ``expand[]=``) and coerce values."""

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from stripe_emulator.errors import invalid

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")
# Maps whose keys are free text: never turned into lists even when the keys look like indexes.
_FREE_KEYS = {"metadata", "payload"}


def parse(raw: str) -> dict[str, Any]:
    """Parse a query string or form body into nested dicts and lists."""
    return decode(parse_qsl(raw, keep_blank_values=True))


def decode(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split(key)
        if not parts:
            continue
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # `expand[]=a`: append to a list held as an index-keyed dict
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise invalid(f"Invalid value for {key}", param=key)
    return _listify(root, None)


def _split(key: str) -> list[str]:
    parts = []
    for match in _KEY.finditer(key):
        parts.append(match.group(1) if match.group(1) is not None else match.group(2))
    return parts


def _listify(value: Any, name: str | None) -> Any:
    if not isinstance(value, dict):
        return value
    if name not in _FREE_KEYS and value and all(k.isdigit() for k in value):
        return [_listify(v, None) for _, v in sorted(value.items(), key=lambda kv: int(kv[0]))]
    if name in _FREE_KEYS:
        return value
    return {k: _listify(v, k) for k, v in value.items()}


def as_int(value: Any, param: str) -> int:
    if isinstance(value, bool):
        raise invalid(f"Invalid integer: {value}", param=param)
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise invalid(f"Invalid integer: {value}", param=param) from None


def as_decimal(value: Any, param: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"Invalid decimal: {value}", param=param) from None
    if not result.is_finite():
        raise invalid(f"Invalid decimal: {value}", param=param)
    return result


def as_bool(value: Any, param: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise invalid(f"Invalid boolean: {value}", param=param)


def as_list(value: Any, param: str) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        raise invalid(f"Invalid array for {param}", param=param)
    return [value]


def as_dict(value: Any, param: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid object for {param}", param=param)
    return value


def enum(value: Any, param: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        choices = ", ".join(f"`{a}`" for a in allowed)
        raise invalid(f"Invalid {param}: must be one of {choices}", param=param)
    return str(value)


def merge_metadata(current: dict[str, str], update: Any) -> dict[str, str]:
    """Stripe's metadata update: set keys, and an empty value (or ``metadata=""``) unsets."""
    if update == "":
        return {}
    result = dict(current)
    for key, value in as_dict(update, "metadata").items():
        if value == "" or value is None:
            result.pop(key, None)
        else:
            result[key] = str(value)
    return result
