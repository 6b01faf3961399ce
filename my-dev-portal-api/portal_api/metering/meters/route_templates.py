"""Route templates of meter filters (`/v1/items/{id}`, `/v1/files/{rest:path}`), matched segment by segment.

`{name}` matches text within one segment, with literal text around it (`/v1/items/{id}.json`): it never
holds a `/`, nor the first character of the text that follows it (in `{id}.json`, the id holds no `.`), and
two parameters need text between them. `{name:path}` is a whole segment and matches one or more segments; a
template holds at most one. So matching costs time linear in the path's length: literal segments are
compared, a segment with parameters is matched by a regex whose quantifiers are possessive (no
backtracking), and the `:path` parameter takes what lies between the matched prefix and suffix. (The old
regex, with several `.+`, took 1.7 s on one adversarial 1,805-character path, synchronously during ingest.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(:path)?\}")
# Longest path looked at: a route longer than this matches no template (HTTP servers refuse such URLs anyway).
MAX_ROUTE_LENGTH = 8192


@dataclass(frozen=True)
class _Segment:
    literal: str | None  # exact text, or None when `pattern` decides
    pattern: re.Pattern[str] | None = None

    def matches(self, segment: str) -> bool:
        if self.literal is not None:
            return segment == self.literal
        assert self.pattern is not None
        return self.pattern.fullmatch(segment) is not None


def _segment(text: str, template: str) -> _Segment:
    params = list(PARAM.finditer(text))
    if not params:
        return _Segment(literal=text)
    parts: list[str] = []
    position = 0
    for index, param in enumerate(params):
        parts.append(re.escape(text[position : param.start()]))
        following = (
            text[param.end() : params[index + 1].start()] if index + 1 < len(params) else text[param.end() :]
        )
        if index + 1 < len(params) and not following:
            raise ValueError(f"in route {template!r} two parameters need text between them, like {{a}}-{{b}}")
        stop = re.escape(following[0]) if following else ""
        parts.append(f"[^/{stop}]++")
        position = param.end()
    parts.append(re.escape(text[position:]))
    return _Segment(literal=None, pattern=re.compile("".join(parts)))


def _split(path: str) -> list[str]:
    return (path.rstrip("/") or "/").split("/")


class RouteTemplate:
    """A compiled template; `matches(route)` answers in time linear in the route's length."""

    def __init__(self, template: str) -> None:
        segments = _split(template)
        path_at = [i for i, s in enumerate(segments) if PARAM.search(s) and ":path}" in s]
        if len(path_at) > 1:
            raise ValueError(f"route {template!r} has more than one {{name:path}} parameter; use one at most")
        for index in path_at:
            if not PARAM.fullmatch(segments[index]):
                raise ValueError(
                    f"in route {template!r} a {{name:path}} parameter must be a whole segment, "
                    "like /files/{rest:path}"
                )
        self.template = template
        self._path_at = path_at[0] if path_at else None
        if self._path_at is None:
            self._prefix = [_segment(s, template) for s in segments]
            self._suffix: list[_Segment] = []
        else:
            self._prefix = [_segment(s, template) for s in segments[: self._path_at]]
            self._suffix = [_segment(s, template) for s in segments[self._path_at + 1 :]]

    def matches(self, route: str) -> bool:
        if len(route) > MAX_ROUTE_LENGTH:
            return False
        parts = _split(route)
        prefix, suffix = self._prefix, self._suffix
        if self._path_at is None:
            return len(parts) == len(prefix) and all(s.matches(p) for s, p in zip(prefix, parts, strict=True))
        middle = len(parts) - len(prefix) - len(suffix)
        if middle < 1:
            return False
        tail = parts[len(parts) - len(suffix) :] if suffix else []
        return (
            all(s.matches(p) for s, p in zip(prefix, parts, strict=False))
            and all(s.matches(p) for s, p in zip(suffix, tail, strict=True))
            and any(parts[len(prefix) : len(prefix) + middle])  # the rest is not empty
        )
