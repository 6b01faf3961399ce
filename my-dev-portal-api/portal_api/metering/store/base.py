"""The UsageStore protocol: what ingest, rebuilds and the usage API need from event and rollup storage.

A backend must insert events with dedupe (a key already stored is skipped and not counted again) and apply
the rollup deltas of the newly stored events atomically with that insert: `insert_events` and `add_rollups`
are called on one store bound to one transaction. The SQL store does it with `INSERT ... ON CONFLICT DO
NOTHING RETURNING` and upserts; a ClickHouse store could use a ReplacingMergeTree for events and
SummingMergeTree/AggregatingMergeTree rollups fed by materialized views behind the same methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from portal_api.metering.rollups import RollupBatch


@dataclass(frozen=True)
class HourlyRollup:
    hour: datetime
    events: int
    value_milli: int


class UsageStore(Protocol):
    async def insert_events(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert event rows (dicts of `usage_events` columns); returns the dedupe keys actually inserted."""
        ...

    async def add_rollups(self, batch: RollupBatch) -> None:
        """Add the batch to the hourly rollups (and distinct values) in the same transaction."""
        ...

    async def hourly(self, meter_id: str, user_id: str, start: datetime, end: datetime) -> list[HourlyRollup]:
        """Rollups with start <= hour < end, oldest first."""
        ...

    async def last_before(self, meter_id: str, user_id: str, before: datetime) -> HourlyRollup | None:
        """The latest rollup with hour < before (for last_ever)."""
        ...

    async def distinct_count(self, meter_id: str, user_id: str, start: datetime, end: datetime) -> int: ...

    async def first_seen_per_hour(
        self, meter_id: str, user_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, int]]:
        """For each hour, how many distinct values appear in [start, end) for the first time in that hour."""
        ...

    async def distinct_per_day(
        self, meter_id: str, user_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, int]]: ...

    async def delete_rollups(self, meter_id: str, since: datetime) -> None:
        """Forget a meter's rollups for hours >= since (before a rebuild)."""
        ...

    def scan_events(self, since: datetime, batch_size: int) -> AsyncIterator[Sequence[Any]]:
        """Attributed events with occurred_at >= since, in id order, `batch_size` rows at a time."""
        ...
