"""Fault injection: make matching API requests fail (error), hang then fail (timeout), answer late but
normally (delay), or lose their response (drop)."""

import random
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from stripe_emulator.errors import invalid
from stripe_emulator.ids import new_id

MODES = ("error", "timeout", "delay", "drop")


@dataclass
class Fault:
    """``path`` matches as a prefix of the request path, or else as a regular expression searched in it."""

    path: str
    mode: str = "error"
    method: str | None = None
    count: int = 1
    probability: float = 1.0
    seconds: float = 5.0
    status: int = 500
    id: str = field(default_factory=lambda: new_id("fault", 12))

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if path.startswith(self.path):
            return True
        try:
            return re.search(self.path, path) is not None
        except re.error:
            return False


class Faults:
    def __init__(self) -> None:
        self.active: list[Fault] = []

    def add(self, spec: dict[str, Any]) -> Fault:
        if not spec.get("path"):
            raise invalid("Missing required param: path.", "path")
        mode = spec.get("mode", "error")
        if mode not in MODES:
            raise invalid(f"mode must be one of {', '.join(MODES)}", "mode")
        fault = Fault(
            path=str(spec["path"]),
            mode=mode,
            method=spec.get("method"),
            count=int(spec.get("count", 1)),
            probability=float(spec.get("probability", 1.0)),
            seconds=float(spec.get("seconds", 5.0)),
            status=int(spec.get("status", 500)),
        )
        self.active.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching fault that fires now; its remaining count goes down by one."""
        if not self.active:
            return None
        for fault in self.active:
            if fault.count > 0 and fault.matches(method, path):
                if fault.probability < 1.0 and random.random() >= fault.probability:  # noqa: S311
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    self.active.remove(fault)
                return fault
        return None

    def describe(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self.active]

    def clear(self) -> None:
        self.active.clear()
