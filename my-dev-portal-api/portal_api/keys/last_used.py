"""Throttled, batched recording of API keys' last_used_at, so verification is not a write per call.

Each key is noted at most once per `interval_seconds`; noted keys are written together in one bulk UPDATE
at most every `flush_seconds` (or sooner when many are waiting). last_used_at is therefore accurate to
about a minute, and up to `flush_seconds` of notes are lost if the process dies: fine for a display field.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.keys.models import ApiKey

MAX_BATCH = 1000

_api_keys = cast(Table, ApiKey.__table__)
# Core executemany: no per-row rowcount check (a key deleted meanwhile is simply skipped), and a newer value
# written by another process is never overwritten with an older one.
_WRITE_LAST_USED = (
    update(_api_keys)
    .where(_api_keys.c.id == bindparam("b_id"))
    .where(or_(_api_keys.c.last_used_at.is_(None), _api_keys.c.last_used_at < bindparam("b_used_at")))
    .values(last_used_at=bindparam("b_used_at"))
)


class LastUsedRecorder:
    def __init__(
        self,
        *,
        interval_seconds: float = 60.0,
        flush_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_seconds = interval_seconds
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._noted_at: dict[str, float] = {}  # key id -> when it was last queued for writing
        self._pending: dict[str, datetime] = {}  # key id -> last_used_at to write
        self._last_flush = float("-inf")
        self._lock = threading.Lock()

    def note(self, key_id: str, used_at: datetime) -> None:
        now = self._clock()
        if now - self._noted_at.get(key_id, float("-inf")) < self.interval_seconds:
            return
        with self._lock:
            self._noted_at[key_id] = now
            self._pending[key_id] = used_at

    def flush_due(self) -> bool:
        return bool(self._pending) and (
            self._clock() - self._last_flush >= self.flush_seconds or len(self._pending) >= MAX_BATCH
        )

    def take(self) -> dict[str, datetime]:
        """The waiting notes (emptied), and forget throttle marks old enough to no longer matter."""
        now = self._clock()
        with self._lock:
            batch, self._pending = self._pending, {}
            self._last_flush = now
            if len(self._noted_at) > 4 * MAX_BATCH:
                cutoff = now - self.interval_seconds
                self._noted_at = {k: t for k, t in self._noted_at.items() if t >= cutoff}
        return batch

    async def flush(self, session: AsyncSession) -> int:
        """Write the waiting notes with `session` (committed by its owner); returns how many keys."""
        batch = self.take()
        if not batch:
            return 0
        await session.execute(
            _WRITE_LAST_USED, [{"b_id": key_id, "b_used_at": used_at} for key_id, used_at in batch.items()]
        )
        return len(batch)
