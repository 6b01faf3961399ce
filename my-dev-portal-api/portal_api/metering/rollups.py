"""Rollup arithmetic: compiled meters, hour buckets, and the per (meter, customer, hour) deltas of a batch."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from portal_api.metering.events import EventView, digest
from portal_api.metering.meters.filters import compile_filter, filter_adapter
from portal_api.metering.meters.metrics import (
    SumField,
    is_unique,
    metric_adapter,
    sum_reader,
    to_milli,
    unique_value,
)
from portal_api.metering.models import Meter

HOUR = timedelta(hours=1)
RollupKey = tuple[str, str, datetime]  # (meter_id, user_id, hour)


def hour_of(moment: datetime) -> datetime:
    """The UTC hour bucket an instant falls in (23:59:59.999 -> 23:00, 00:00:00 -> 00:00)."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class CompiledMeter:
    id: str
    version: int
    matches: Callable[[EventView], bool]
    metric: Any
    unique: bool
    read: Callable[[EventView], Decimal] | None


_compiled: dict[tuple[str, int], CompiledMeter] = {}


def compile_meter(meter: Meter) -> CompiledMeter:
    """The meter's filter and metric as Python callables; cached per (id, version)."""
    key = (meter.id, meter.version)
    found = _compiled.get(key)
    if found is not None:
        return found
    tree = json.loads(meter.filters) if meter.filters else None
    node = filter_adapter.validate_python(tree) if tree is not None else None
    metric = metric_adapter.validate_python(json.loads(meter.metric))
    compiled = CompiledMeter(
        id=meter.id,
        version=meter.version,
        matches=compile_filter(node),
        metric=metric,
        unique=is_unique(metric),
        read=sum_reader(metric) if isinstance(metric, SumField) else None,
    )
    if len(_compiled) > 10_000:
        _compiled.clear()
    _compiled[key] = compiled
    return compiled


@dataclass
class RollupBatch:
    """What a set of newly stored events adds to the rollups.

    `counts` maps a rollup key to [events, value in thousandths]; for unique metrics the value part is filled
    by the store from how many of `unique_values` were new for that hour.
    """

    counts: dict[RollupKey, list[int]] = field(default_factory=dict)
    unique_values: set[tuple[str, str, datetime, str]] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.counts)

    def add(
        self, meters: Iterable[CompiledMeter], user_id: str, occurred_at: datetime, view: EventView
    ) -> None:
        hour: datetime | None = None
        for meter in meters:
            if not meter.matches(view):
                continue
            if hour is None:
                hour = hour_of(occurred_at)
            key = (meter.id, user_id, hour)
            slot = self.counts.get(key)
            if slot is None:
                slot = self.counts[key] = [0, 0]
            slot[0] += 1
            if meter.unique:
                value = unique_value(meter.metric, view)
                if value is not None:
                    self.unique_values.add((meter.id, user_id, hour, digest(value)))
            elif meter.read is not None:
                slot[1] += to_milli(meter.read(view))
            else:
                slot[1] += 1000
