"""In-memory account state, with an optional JSON snapshot file loaded on start and saved on demand."""

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stripe_emulator.clock import Clock
from stripe_emulator.ids import new_id
from stripe_emulator.versions import DEFAULT_VERSION

log = logging.getLogger(__name__)

EventListener = Callable[[dict[str, Any]], None]


def clone(value: Any) -> Any:
    """Deep copy of JSON-like data, several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


class Store:
    """Every object of the one emulated account, indexed by id and by object type (insertion order)."""

    def __init__(
        self, clock: Clock | None = None, state_file: str | None = None, api_version: str = DEFAULT_VERSION
    ) -> None:
        self.clock = clock or Clock()
        # the account's default API version: events and webhook payloads are rendered in it
        self.api_version = api_version
        self.state_file = state_file
        self.listeners: list[EventListener] = []
        self.reset()
        if state_file and Path(state_file).exists():
            self.load(state_file)

    def reset(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.by_type: dict[str, dict[str, dict[str, Any]]] = {}
        # subscription item id -> {str(timestamp): usage record}
        self.usage_records: dict[str, dict[str, dict[str, Any]]] = {}
        # meter event_name -> events in arrival order
        self.meter_events: dict[str, list[dict[str, Any]]] = {}
        self.meter_identifiers: dict[str, int] = {}
        self.idempotency: dict[str, dict[str, Any]] = {}
        self.counters: dict[str, int] = {}
        # earliest current_period_end of a rolling subscription (0 = unknown: recompute on next request)
        self.next_due = 0
        self.clock.reset()

    # objects

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        self.by_type.setdefault(obj["object"], {})[obj["id"]] = obj
        return obj

    def get(self, object_id: str, kind: str | None = None) -> dict[str, Any] | None:
        obj = self.objects.get(object_id)
        if obj is None or (kind is not None and obj["object"] != kind):
            return None
        return obj

    def all(self, kind: str) -> list[dict[str, Any]]:
        """Objects of one type, newest first."""
        return list(reversed(self.by_type.get(kind, {}).values()))

    def remove(self, object_id: str) -> None:
        obj = self.objects.pop(object_id, None)
        if obj is not None:
            self.by_type.get(obj["object"], {}).pop(object_id, None)

    def next_number(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    # events

    def emit(
        self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Record an event carrying a copy of ``obj`` as it is now, and tell the listeners."""
        data: dict[str, Any] = {"object": clone(obj)}
        if previous:
            data["previous_attributes"] = clone(previous)
        event = self.add(
            {
                "id": new_id("evt"),
                "object": "event",
                "type": event_type,
                "created": self.clock.now(),
                "livemode": False,
                "pending_webhooks": 0,
                "request": {"id": None, "idempotency_key": None},
                "data": data,
            }
        )
        for listener in self.listeners:
            listener(event)
        return event

    def emit_update(
        self, event_type: str, obj: dict[str, Any], before: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Emit ``*.updated`` with Stripe's ``previous_attributes``; nothing when nothing changed."""
        previous = {
            k: before.get(k)
            for k in set(before) | set(obj)
            if not k.startswith("_") and before.get(k) != obj.get(k)
        }
        if not previous:
            return None
        return self.emit(event_type, obj, previous)

    # snapshot

    def snapshot(self) -> dict[str, Any]:
        return {
            "by_type": self.by_type,
            "usage_records": self.usage_records,
            "meter_events": self.meter_events,
            "meter_identifiers": self.meter_identifiers,
            "idempotency": self.idempotency,
            "counters": self.counters,
            "clock_offset": self.clock.offset,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.reset()
        self.by_type = data.get("by_type", {})
        self.objects = {oid: obj for objs in self.by_type.values() for oid, obj in objs.items()}
        self.usage_records = data.get("usage_records", {})
        self.meter_events = data.get("meter_events", {})
        self.meter_identifiers = data.get("meter_identifiers", {})
        self.idempotency = data.get("idempotency", {})
        self.counters = data.get("counters", {})
        self.clock.offset = int(data.get("clock_offset", 0))

    def save(self, path: str | None = None) -> str | None:
        target = path or self.state_file
        if not target:
            return None
        tmp = Path(f"{target}.tmp")
        tmp.write_text(json.dumps(self.snapshot()))
        tmp.replace(target)
        return str(target)

    def load(self, path: str) -> None:
        try:
            self.restore(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable state file %s: %s", path, exc)
