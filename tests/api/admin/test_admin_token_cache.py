"""The in-process admin token cache used by POST /v1/keys/verify: TTL, size bound, no stale refill."""

from __future__ import annotations

from portal_api.admin.tokens import AdminTokenCache, AdminTokenRef

REF = AdminTokenRef(id="atk_1", name="gateway", scopes=frozenset({"verify", "ingest"}))


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_token_is_forgotten_after_ttl() -> None:
    clock = FakeClock()
    cache = AdminTokenCache(ttl_seconds=30, clock=clock)
    cache.put("h", REF, epoch=cache.epoch)

    clock.now += 29
    assert cache.get("h") == REF
    clock.now += 1
    assert cache.get("h") is None


def test_cache_holds_at_most_max_size_tokens_dropping_least_recent() -> None:
    cache = AdminTokenCache(ttl_seconds=30, max_size=2, clock=FakeClock())
    cache.put("a", REF, epoch=cache.epoch)
    cache.put("b", REF, epoch=cache.epoch)
    cache.get("a")

    cache.put("c", REF, epoch=cache.epoch)

    assert cache.get("b") is None and cache.get("a") == REF and cache.get("c") == REF


def test_lookup_that_raced_a_revocation_is_not_cached() -> None:
    cache = AdminTokenCache(ttl_seconds=30, clock=FakeClock())
    epoch = cache.epoch

    cache.clear()  # a revocation happened while the token row was being read
    cache.put("h", REF, epoch=epoch)

    assert cache.get("h") is None
