"""Limits on JSON bodies: at most MAX_JSON_DEPTH levels of nesting, and no NUL (U+0000) in any string.

Python's JSON decoder raises RecursionError past about a thousand levels, and recursive code further on
(serializers, validators) fails sooner; so every JSON body the API reads is decoded here and refused with a
clear 400 `json_too_deep` when it nests deeper than MAX_JSON_DEPTH (64), or 400 `invalid_json` when it is
not JSON. PostgreSQL text cannot hold U+0000, so strings holding it are refused too (by the callers, with
their own answer). The walk is iterative: its cost is linear in the size of the value, whatever its shape.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from portal_api.errors import PortalError

MAX_JSON_DEPTH = 64
Problem = Literal["nul", "too_deep"]


class InvalidJson(PortalError):
    status, code, message = 400, "invalid_json", "The request body is not valid JSON"


class JsonTooDeep(PortalError):
    status, code = 400, "json_too_deep"
    message = f"The JSON nests deeper than {MAX_JSON_DEPTH} levels"


def json_problem(value: Any) -> Problem | None:
    """`nul` if a string anywhere (keys too) holds U+0000, `too_deep` past MAX_JSON_DEPTH, else None."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "nul"
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return "too_deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    if "\x00" in key:
                        return "nul"
                    if isinstance(child, str | dict | list):
                        stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item if isinstance(child, str | dict | list))
    return None


def decode_json(raw: bytes | str, *, check_depth: bool = True) -> Any:
    """The decoded value; InvalidJson when it is not JSON, JsonTooDeep when it nests too deep.

    `check_depth=False` leaves the depth (and NUL) check to the caller, who walks the parts one by one
    (ingest judges each event of a batch on its own); the decoder's own recursion limit is still caught."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise JsonTooDeep() from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidJson(f"The request body is not valid JSON: {exc}") from None
    if check_depth and json_problem(value) == "too_deep":
        raise JsonTooDeep()
    return value
