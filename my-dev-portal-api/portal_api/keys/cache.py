"""In-process TTL + LRU cache of what the database said about an API key, and the invalidation hooks.

The cache holds facts (key revoked/expiry, the owner's subscription status and plan), never a verdict:
the verdict is computed from the facts and the current time on every call, so an expiry or the end of a
past_due grace period takes effect on time even for a cached key. Invalidation only has to cover changes
to the facts themselves, announced on the change feed (core/changes.py): revoke/rotate of a key (topic
`key`, from keys/service.py) and customer or subscription changes (topic `user`, from billing code).

Entries are keyed by the key's HMAC, so the cache never holds a secret.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from portal_api.core.changes import ChangeFeed


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """One key and its owner's most relevant subscription, as last read from the database."""

    key_id: str
    user_id: str
    revoked_at: datetime | None
    expires_at: datetime | None
    customer_id: str | None
    subscription_status: str | None
    status_changed_at: datetime | None
    price_id: str | None
    plan_nickname: str | None
    product_name: str | None


@dataclass(slots=True)
class _Entry:
    loaded_at: float
    facts: KeyFacts | None  # None: no key has this hash


class KeyVerifyCache:
    """Maps key hash -> KeyFacts (or "unknown") for `ttl_seconds`, holding at most `max_size` entries.

    Unknown hashes live in a separate, smaller LRU so a flood of random keys cannot push out real ones.
    An epoch counter guards against a lookup that started before an invalidation storing stale facts.
    """

    def __init__(
        self, *, ttl_seconds: float, max_size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_size = max(0, max_size)
        self.max_unknown = max(0, max_size // 10)
        self._clock = clock
        self._known: OrderedDict[str, _Entry] = OrderedDict()
        self._unknown: OrderedDict[str, _Entry] = OrderedDict()
        self._hashes_by_user: dict[str, set[str]] = {}
        self._lock = threading.Lock()  # invalidation may come from a scheduler thread
        self._epoch = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._known) + len(self._unknown)

    @property
    def epoch(self) -> int:
        """Read this before loading facts from the database and pass it to `put`."""
        return self._epoch

    def get(self, key_hash: str) -> tuple[bool, KeyFacts | None]:
        """(True, facts) on a fresh hit (facts None means "no such key"); (False, None) on a miss."""
        now = self._clock()
        with self._lock:
            for store in (self._known, self._unknown):
                entry = store.get(key_hash)
                if entry is None:
                    continue
                if now - entry.loaded_at >= self.ttl_seconds:
                    self._drop(key_hash)
                    break
                store.move_to_end(key_hash)
                self.hits += 1
                return True, entry.facts
            self.misses += 1
            return False, None

    def put(self, key_hash: str, facts: KeyFacts | None, *, epoch: int) -> None:
        with self._lock:
            if epoch != self._epoch or self.ttl_seconds <= 0:
                return  # something was invalidated while these facts were being read
            self._drop(key_hash)
            store, limit = (self._known, self.max_size) if facts else (self._unknown, self.max_unknown)
            if limit == 0:
                return
            store[key_hash] = _Entry(self._clock(), facts)
            if facts is not None:
                self._hashes_by_user.setdefault(facts.user_id, set()).add(key_hash)
            while len(store) > limit:
                oldest, evicted = store.popitem(last=False)
                if evicted.facts is not None:
                    self._unlink(evicted.facts.user_id, oldest)

    def invalidate_key(self, key_hash: str) -> None:
        with self._lock:
            self._epoch += 1
            self._drop(key_hash)

    def invalidate_user(self, user_id: str) -> None:
        with self._lock:
            self._epoch += 1
            for key_hash in self._hashes_by_user.pop(user_id, set()):
                self._known.pop(key_hash, None)

    def invalidate_all(self) -> None:
        with self._lock:
            self._epoch += 1
            self._known.clear()
            self._unknown.clear()
            self._hashes_by_user.clear()

    def _drop(self, key_hash: str) -> None:
        entry = self._known.pop(key_hash, None) or self._unknown.pop(key_hash, None)
        if entry is not None and entry.facts is not None:
            self._unlink(entry.facts.user_id, key_hash)

    def _unlink(self, user_id: str, key_hash: str) -> None:
        hashes = self._hashes_by_user.get(user_id)
        if hashes is not None:
            hashes.discard(key_hash)
            if not hashes:
                del self._hashes_by_user[user_id]


def listen(feed: ChangeFeed, cache: KeyVerifyCache) -> None:
    """Keep `cache` in step with the change feed (users' billing changes, revoked or rotated keys)."""
    feed.subscribe("user", cache.invalidate_user)
    feed.subscribe("key", cache.invalidate_key)
    feed.subscribe("all_keys", lambda _: cache.invalidate_all())
