"""An event that a meter's filters accept, for the Meter Test to send; or why no event can be one (pure).

`event_matching(filters, user_id=...)` searches the filter tree: an OR group is a choice of one branch, an AND
group needs all of its children, so every way of choosing is a list of conditions that must hold together.
For each such list (tried in order, at most MAX_ATTEMPTS), the conditions are grouped by field and every
field gets a value that meets all of its conditions, or stays absent when that meets them: a route filling
the template (`/v1/items/{id}` -> `/v1/items/1`), a status in the class or range, a header or metadata value
equal to, containing, above or below what is asked. The event is then checked with the compiled filter
(filters.compile_filter), the one truth about matching. The event's user is the given user (the Meter Test's
own customer): a filter on `user` that excludes it cannot be met, nor two conditions that contradict each
other (route is /a and route is /b), and the error says which.

`unmet(filters, event, user_id)` says which condition an event (edited by hand in the console) fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from portal_api.metering.events import EventView, lower_headers, route_of
from portal_api.metering.meters.filters import (
    MISSING,
    AndGroup,
    Condition,
    OrGroup,
    Scalar,
    as_number,
    compile_condition,
    compile_filter,
    field_getter,
)
from portal_api.metering.meters.metrics import SumField
from portal_api.metering.meters.route_templates import PARAM

# Ways of choosing among OR branches tried before giving up (each try is a few hundred cheap checks).
MAX_ATTEMPTS = 2000
DEFAULT_ROUTE = "/meter-test"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
STATUS_PREFERRED = (200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503)
# Text a route parameter or a free value is filled with, in order of preference.
FILLERS = ("1", "test", "x", "meter-test")
OP_WORDS = {"eq": "is", "neq": "is not", "contains": "contains", "gt": ">", "lt": "<"}


class MeterTestEvent(BaseModel):
    """The synthetic call the Meter Test sends for its own customer (the user is always that customer)."""

    model_config = ConfigDict(extra="forbid")

    route: str = Field(default=DEFAULT_ROUTE, min_length=1, max_length=2048, description="The path called")
    method: str = Field(default="GET", min_length=1, max_length=16, pattern=r"^[A-Za-z]+$")
    status: int | None = Field(default=200, ge=100, le=599)
    weight: int = Field(default=1, ge=0, le=1_000_000)
    company: str | None = Field(default=None, max_length=255, description="The event's company id")
    request_headers: dict[str, Scalar] = Field(default_factory=dict, max_length=100)
    response_headers: dict[str, Scalar] = Field(default_factory=dict, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)


class NoMatchingEvent(ValueError):
    """No event can pass the filters; the message says why, for people."""


class _Conflict(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


ABSENT: Any = MISSING  # a field the event leaves out


def event_view(event: MeterTestEvent, user_id: str) -> EventView:
    """What filters see of the event once ingested for `user_id` (as ingest normalizes it)."""
    return EventView(
        route=route_of(event.route),
        method=event.method.upper(),
        status=event.status,
        external_user_id=user_id,
        portal_user_id=user_id,
        company_id=event.company,
        weight=event.weight,
        request_headers=lower_headers(event.request_headers),
        response_headers=lower_headers(event.response_headers),
        metadata=event.metadata,
    )


def describe(cond: Condition) -> str:
    """A condition as the console writes it: `route is /v1/search`, `weight > 5`, `metadata.plan exists`."""
    if cond.op == "exists":
        return f"{cond.field} {'is absent' if cond.value is False else 'exists'}"
    value = cond.value
    shown = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return f"{cond.field} {OP_WORDS[cond.op]} {shown}"


def _field_key(field: str) -> str:
    """Conditions on one key read one value (header names ignore case; properties.x is metadata.x)."""
    for prefix in ("request.headers.", "response.headers."):
        if field.startswith(prefix):
            return prefix + field[len(prefix) :].lower()
    if field.startswith("properties."):
        return "metadata." + field[len("properties.") :]
    return field


# -- candidates per field ------------------------------------------------------------------------------


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _bounds(conds: Sequence[Condition]) -> tuple[Decimal | None, Decimal | None]:
    above = [n for c in conds if c.op == "gt" and (n := as_number(c.value)) is not None]
    below = [n for c in conds if c.op == "lt" and (n := as_number(c.value)) is not None]
    return (max(above) if above else None), (min(below) if below else None)


def _numbers(conds: Sequence[Condition]) -> list[Decimal]:
    """Numbers worth trying: the values asked for, just past each bound, and between two bounds."""
    low, high = _bounds(conds)
    found = [n for c in conds if c.op in ("eq", "neq") and (n := as_number(c.value)) is not None]
    if low is not None:
        found += [low.to_integral_value(rounding=ROUND_FLOOR) + 1, low + Decimal("0.5")]
    if high is not None:
        found += [high.to_integral_value(rounding=ROUND_CEILING) - 1, high - Decimal("0.5")]
    if low is not None and high is not None:
        found.append((low + high) / 2)
    return found


def _texts(conds: Sequence[Condition]) -> list[str]:
    contained = [str(c.value) for c in conds if c.op == "contains"]
    texts = [str(c.value) for c in conds if c.op == "eq" and not isinstance(c.value, bool)]
    if contained:
        joined = "".join(contained)
        texts += [joined, f"{joined}-1", f"1-{joined}"]  # the latter two when it must also differ
    return texts


def _route_candidates(conds: Sequence[Condition]) -> Iterator[str]:
    contained = [str(c.value) for c in conds if c.op == "contains"]
    fillers = [*FILLERS, *(t.strip("/") for t in contained if t.strip("/")), "".join(contained).strip("/")]
    for cond in conds:
        if cond.op == "eq":
            template = str(cond.value)
            for filler in dict.fromkeys(f for f in fillers if f):
                yield PARAM.sub(lambda _, f=filler: f, template)  # type: ignore[misc]
    if contained:
        joined = "".join(contained)
        yield joined if joined.startswith("/") else "/" + joined
        yield DEFAULT_ROUTE + ("" if joined.startswith("/") else "/") + joined
    yield DEFAULT_ROUTE
    for filler in FILLERS:
        yield f"{DEFAULT_ROUTE}/{filler}"


def _status_candidates(conds: Sequence[Condition]) -> Iterator[int | None]:
    asked = [int(n) for n in _numbers(conds) if n == n.to_integral_value() and 100 <= n <= 599]
    for cond in conds:
        if cond.op == "eq" and isinstance(cond.value, str):
            text = cond.value.strip().lower()
            if text[:1].isdigit() and text.endswith("xx"):
                asked.append(int(text[0]) * 100)
            elif "-" in text:
                first = text.split("-", 1)[0].strip()
                asked += [int(first)] if first.isdigit() else []
    yield from asked
    yield from STATUS_PREFERRED
    yield from range(100, 600)
    yield None


def _weight_candidates(conds: Sequence[Condition]) -> Iterator[int]:
    yield 1
    for number in _numbers(conds):
        if number == number.to_integral_value() and 0 <= number <= 1_000_000:
            yield int(number)
    yield from (0, 2, 10, 100, 1000, 1_000_000)


def _value_candidates(conds: Sequence[Condition], *, text_only: bool) -> Iterator[Any]:
    """Header values (text) or metadata values (any JSON scalar), absent first when nothing asks for one."""
    if not any(c.op == "exists" and c.value is not False for c in conds):
        yield ABSENT
    for cond in conds:
        if cond.op == "eq" and text_only:
            yield ("true" if cond.value else "false") if isinstance(cond.value, bool) else str(cond.value)
        elif cond.op == "eq":
            yield cond.value
    for number in _numbers(conds):
        yield str(_plain(number)) if text_only else _plain(number)
    yield from _texts(conds)
    yield from FILLERS
    yield ABSENT


def _probe(key: str, value: Any, user_id: str) -> EventView:
    view = EventView(
        route=DEFAULT_ROUTE,
        method="GET",
        status=200,
        external_user_id=user_id,
        portal_user_id=user_id,
        company_id=None,
        weight=1,
        request_headers={},
        response_headers={},
        metadata={},
    )
    if key == "route":
        view.route = route_of(value)
    elif key == "method":
        view.method = value.upper()
    elif key in ("status", "weight"):
        setattr(view, key, value)
    elif key == "company":
        view.company_id = None if value is ABSENT else value
    elif key.startswith(("request.headers.", "response.headers.")):
        where = view.request_headers if key.startswith("request.") else view.response_headers
        if value is not ABSENT:
            where[key.split(".", 2)[2]] = value
    elif key.startswith("metadata.") and value is not ABSENT:
        _put(view.metadata, key[len("metadata.") :].split("."), value)
    return view


def _solve_field(key: str, conds: Sequence[Condition], user_id: str) -> Any:
    """A value of `key` meeting every condition in `conds` (ABSENT when leaving it out does so); else
    _Conflict saying which conditions clash."""
    checks = [compile_condition(c) for c in conds]
    candidates: Iterator[Any]
    if key == "route":
        candidates = _route_candidates(conds)
    elif key == "method":
        asked = [str(c.value).upper() for c in conds if c.op == "eq"]
        candidates = iter([*asked, *METHODS])
    elif key == "status":
        candidates = _status_candidates(conds)
    elif key == "weight":
        candidates = _weight_candidates(conds)
    elif key == "user":
        candidates = iter([user_id])
    elif key == "company":
        candidates = _value_candidates(conds, text_only=True)
    else:
        candidates = _value_candidates(conds, text_only=key.startswith(("request.", "response.")))
    seen: set[str] = set()
    for value in candidates:
        marker = repr(value)
        if marker in seen:
            continue
        seen.add(marker)
        view = _probe(key, value, user_id)
        if all(check(view) for check in checks):
            return value
    said = " and ".join(describe(c) for c in conds)
    if key == "user":
        raise _Conflict(
            f"the filters ask that {said}, which the Meter Test's own customer ({user_id}) is not: the "
            "test never sends an event as a real customer; drop the user condition to test this meter"
        )
    if len(conds) == 1:
        raise _Conflict(f"no {key} can satisfy {said}")
    raise _Conflict(f"{said} cannot all hold at once")


# -- assembling and searching ---------------------------------------------------------------------------


def _put(target: dict[str, Any], path: list[str], value: Any) -> None:
    for index, part in enumerate(path[:-1]):
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            raise _Conflict(
                f"metadata.{'.'.join(path[: index + 1])} cannot be a value and hold "
                f"metadata.{'.'.join(path)} at once"
            )
        target = child
    if isinstance(target.get(path[-1]), dict):
        raise _Conflict(f"metadata.{'.'.join(path)} cannot be a value and hold fields at once")
    target[path[-1]] = value


def _assemble(values: dict[str, Any]) -> MeterTestEvent:
    event = MeterTestEvent()
    metadata: dict[str, Any] = {}
    for key, value in sorted(values.items(), key=lambda kv: kv[0].count(".")):
        if value is ABSENT:
            continue
        if key in ("route", "method", "status", "weight"):
            setattr(event, key, value)
        elif key == "company":
            event.company = str(value)
        elif key.startswith("request.headers."):
            event.request_headers[key[len("request.headers.") :]] = value
        elif key.startswith("response.headers."):
            event.response_headers[key[len("response.headers.") :]] = value
        elif key.startswith("metadata."):
            _put(metadata, key[len("metadata.") :].split("."), value)
    event.metadata = metadata
    return event


class _Search:
    """Backtracking over the OR choices: a partial choice whose conditions already contradict is dropped."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.attempts = 0
        self.reasons: list[str] = []

    def fail(self, reason: str) -> None:
        self.attempts += 1
        if reason not in self.reasons:
            self.reasons.append(reason)
        if self.attempts > MAX_ATTEMPTS:
            raise NoMatchingEvent(
                f"no matching event found in the first {MAX_ATTEMPTS} ways of meeting the filters "
                f"({self.reasons[0]}); give the event by hand"
            )

    def alternatives(self, node: AndGroup | OrGroup | Condition) -> Iterator[tuple[Condition, ...]]:
        """Lists of conditions whose holding together makes `node` hold (one branch per OR group)."""
        if isinstance(node, Condition):
            yield (node,)
        elif isinstance(node, OrGroup):
            for child in node.any_of:
                yield from self.alternatives(child)
        else:
            yield from self._all_of(node.all_of, ())

    def _all_of(
        self, children: Sequence[AndGroup | OrGroup | Condition], chosen: tuple[Condition, ...]
    ) -> Iterator[tuple[Condition, ...]]:
        if not children:
            yield chosen
            return
        for part in self.alternatives(children[0]):
            combined = chosen + part
            touched = {_field_key(c.field) for c in part}
            try:
                for key, group in _by_key(combined).items():
                    if key in touched:
                        _solve_field(key, group, self.user_id)
            except _Conflict as conflict:
                self.fail(conflict.reason)
                continue
            yield from self._all_of(children[1:], combined)


def _by_key(conds: Sequence[Condition]) -> dict[str, list[Condition]]:
    by_key: dict[str, list[Condition]] = {}
    for cond in conds:
        by_key.setdefault(_field_key(cond.field), []).append(cond)
    return by_key


def _solve(conds: Sequence[Condition], user_id: str) -> MeterTestEvent:
    values = {key: _solve_field(key, group, user_id) for key, group in _by_key(conds).items()}
    return _assemble(values)


def _with_defaults(event: MeterTestEvent, conds: Sequence[Condition], metric: Any) -> list[MeterTestEvent]:
    """The event with what makes it useful added where no filter speaks: a value for a summed field, and
    `metadata.meter_test: true` so the stored event says where it came from. Most useful first."""
    constrained = {_field_key(c.field) for c in conds}
    extras: list[tuple[str, Any]] = []
    if isinstance(metric, SumField) and metric.field != "weight":
        key = _field_key(metric.field)
        if key not in constrained:
            extras.append((key, 1 if key.startswith("metadata.") else "1"))
    if "metadata.meter_test" not in constrained:
        extras.append(("metadata.meter_test", True))
    variants = []
    for size in range(len(extras), -1, -1):
        for chosen in itertools.combinations(extras, size):
            copy = event.model_copy(deep=True)
            try:
                for key, value in chosen:
                    if key.startswith("metadata."):
                        _put(copy.metadata, key[len("metadata.") :].split("."), value)
                    else:
                        where = copy.request_headers if key.startswith("request.") else copy.response_headers
                        where[key.split(".", 2)[2]] = value
            except _Conflict:
                continue
            variants.append(copy)
    return variants


def event_matching(
    node: AndGroup | OrGroup | Condition | None, *, user_id: str, metric: Any = None
) -> MeterTestEvent:
    """An event of `user_id` that the filter tree accepts; NoMatchingEvent (with the reason) when none can."""
    accepts: Callable[[EventView], bool] = compile_filter(node)
    search = _Search(user_id)
    alternatives = iter([()]) if node is None else search.alternatives(node)
    for conds in alternatives:
        try:
            event = _solve(conds, user_id)
        except _Conflict as conflict:
            search.fail(conflict.reason)
            continue
        for candidate in _with_defaults(event, conds, metric):
            if accepts(event_view(candidate, user_id)):
                return candidate
        search.fail("the event built for " + " and ".join(describe(c) for c in conds) + " does not match")
    reasons = search.reasons
    if len(reasons) == 1:
        raise NoMatchingEvent(f"No event can match this meter's filters: {reasons[0]}")
    shown = "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else "")
    raise NoMatchingEvent(f"No event can match this meter's filters: no alternative can be met ({shown})")


def unmet(node: AndGroup | OrGroup | Condition | None, event: MeterTestEvent, user_id: str) -> str | None:
    """None when the filters accept the event; otherwise which condition it fails, for people."""
    view = event_view(event, user_id)
    if compile_filter(node)(view):
        return None
    assert node is not None  # no filter accepts everything
    return _explain(node, view)


def _explain(node: AndGroup | OrGroup | Condition, view: EventView) -> str:
    if isinstance(node, Condition):
        if node.field == "user":
            actual: Any = view.external_user_id
        else:
            actual = field_getter(node.field)(view)
        shown = "nothing" if actual is MISSING or actual is None else str(actual)
        return f"{describe(node)} (the event has {shown})"
    children = node.all_of if isinstance(node, AndGroup) else node.any_of
    failing = [child for child in children if not compile_filter(child)(view)]
    if isinstance(node, AndGroup):
        return _explain(failing[0], view)
    return "none of: " + "; ".join(_explain(child, view) for child in failing[:3])
