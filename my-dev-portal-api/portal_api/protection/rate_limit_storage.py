"""In-process counters for `limits` (scheme `portal+memory://`): O(1) per hit, expired keys swept in batches.

`limits`' own async memory storage schedules a task on every hit that walks all keys, which costs
hundreds of microseconds once thousands of client addresses are tracked; this one expires keys lazily on
access and sweeps the whole table only when it has doubled since the last sweep (or hit `max_keys`), so a
hit costs a dict lookup. No locks: every method runs to completion without awaiting, on one event loop.
"""

from __future__ import annotations

import time
from itertools import islice
from math import floor

from limits.aio.storage import SlidingWindowCounterSupport, Storage
from limits.storage.base import TimestampedSlidingWindow

DEFAULT_MAX_KEYS = 100_000  # a few tens of MB at most
MIN_SWEEP_SIZE = 1_024


class LocalMemoryStorage(Storage, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    STORAGE_SCHEME = ["portal+memory"]

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool
    ) -> None:
        self.max_keys = int(options.pop("max_keys", DEFAULT_MAX_KEYS))
        self._counters: dict[str, tuple[int, float]] = {}  # key -> (count, expires_at)
        self._sweep_at_size = MIN_SWEEP_SIZE
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def __len__(self) -> int:
        return len(self._counters)

    def _count(self, key: str, now: float) -> int:
        entry = self._counters.get(key)
        if entry is None:
            return 0
        if entry[1] <= now:
            del self._counters[key]
            return 0
        return entry[0]

    def _sweep(self, now: float) -> None:
        live = {k: v for k, v in self._counters.items() if v[1] > now}
        overflow = len(live) - int(self.max_keys * 0.9)
        if overflow > 0:
            # Still full of live keys (a flood of distinct clients): forget the oldest, a tenth of the room
            # at once, so the next inserts are cheap again instead of each paying for a sweep.
            for key in list(islice(live, overflow)):
                del live[key]
        self._counters = live
        self._sweep_at_size = max(MIN_SWEEP_SIZE, 2 * len(live))

    def _incr(self, key: str, expiry: float, amount: int, now: float) -> int:
        entry = self._counters.get(key)
        if entry is None or entry[1] <= now:
            if len(self._counters) >= min(self._sweep_at_size, self.max_keys):
                self._sweep(now)
            entry = (0, now + expiry)
        count = entry[0] + amount
        self._counters[key] = (count, entry[1])
        return count

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._incr(key, expiry, amount, time.time())

    async def decr(self, key: str, amount: int = 1) -> int:
        entry = self._counters.get(key)
        if entry is None:
            return 0
        count = max(entry[0] - amount, 0)
        self._counters[key] = (count, entry[1])
        return count

    async def get(self, key: str) -> int:
        return self._count(key, time.time())

    async def get_expiry(self, key: str) -> float:
        now = time.time()
        entry = self._counters.get(key)
        return entry[1] if entry is not None and entry[1] > now else now

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self._counters)
        self._counters.clear()
        return count

    async def clear(self, key: str) -> None:
        self._counters.pop(key, None)

    # -- sliding window counter (the strategy used by default) ------------------------------------------

    def _window(self, key: str, expiry: int, now: float) -> tuple[str, int, float, int, float]:
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        previous_count = self._count(previous_key, now)
        current_count = self._count(current_key, now)
        previous_ttl = 0.0 if previous_count == 0 else (1 - (((now - expiry) / expiry) % 1)) * expiry
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return current_key, previous_count, previous_ttl, current_count, current_ttl

    async def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        current_key, previous_count, previous_ttl, current_count, _ = self._window(key, expiry, now)
        if floor(previous_count * previous_ttl / expiry + current_count) + amount > limit:
            return False
        # The current window's counter must outlive it: it is the previous window of the next one.
        self._incr(current_key, 2 * expiry, amount, now)
        return True

    async def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        _, previous_count, previous_ttl, current_count, current_ttl = self._window(key, expiry, time.time())
        return previous_count, previous_ttl, current_count, current_ttl

    async def clear_sliding_window(self, key: str, expiry: int) -> None:
        for window_key in self.sliding_window_keys(key, expiry, time.time()):
            self._counters.pop(window_key, None)
