"""The verification cache, the last_used throttle and the verdict rules, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from portal_api.core.changes import ChangeFeed
from portal_api.keys.cache import KeyFacts, KeyVerifyCache, listen
from portal_api.keys.last_used import MAX_BATCH, LastUsedRecorder
from portal_api.keys.verify import judge

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
GRACE = timedelta(hours=72)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def facts(user_id: str = "usr_1", key_id: str = "key_1", **changes: object) -> KeyFacts:
    base = KeyFacts(
        key_id=key_id,
        user_id=user_id,
        revoked_at=None,
        expires_at=None,
        customer_id="cus_1",
        subscription_status="active",
        status_changed_at=NOW - timedelta(days=3),
        price_id="price_1",
        plan_nickname="Pro",
        product_name="My API",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_entries_expire_after_ttl() -> None:
    clock = FakeClock()
    cache = KeyVerifyCache(ttl_seconds=30, max_size=10, clock=clock)
    cache.put("h1", facts(), epoch=cache.epoch)

    clock.now += 29.9
    assert cache.get("h1") == (True, facts())
    clock.now += 0.1
    assert cache.get("h1") == (False, None)
    assert len(cache) == 0


def test_least_recently_used_entry_is_evicted_first() -> None:
    cache = KeyVerifyCache(ttl_seconds=30, max_size=2, clock=FakeClock())
    cache.put("h1", facts(key_id="k1"), epoch=cache.epoch)
    cache.put("h2", facts(key_id="k2"), epoch=cache.epoch)
    cache.get("h1")  # h1 is now the most recently used

    cache.put("h3", facts(key_id="k3"), epoch=cache.epoch)

    assert cache.get("h2") == (False, None)
    assert cache.get("h1")[0] and cache.get("h3")[0]


def test_unknown_keys_cannot_push_out_known_ones() -> None:
    cache = KeyVerifyCache(ttl_seconds=30, max_size=20, clock=FakeClock())
    cache.put("real", facts(), epoch=cache.epoch)

    for i in range(1000):
        cache.put(f"random{i}", None, epoch=cache.epoch)

    assert cache.get("real") == (True, facts())
    assert cache.get("random999") == (True, None)
    assert cache.get("random0") == (False, None)
    assert len(cache) == 1 + 2  # unknown answers get a tenth of the room


def test_facts_read_before_an_invalidation_are_not_stored() -> None:
    cache = KeyVerifyCache(ttl_seconds=30, max_size=10, clock=FakeClock())
    epoch_before_read = cache.epoch

    cache.invalidate_user("usr_1")  # the subscription changed while the lookup was in flight
    cache.put("h1", facts(), epoch=epoch_before_read)

    assert cache.get("h1") == (False, None)


def test_a_user_change_on_the_feed_drops_only_that_users_keys_in_every_listening_cache() -> None:
    feed = ChangeFeed()
    first = KeyVerifyCache(ttl_seconds=30, max_size=10, clock=FakeClock())
    second = KeyVerifyCache(ttl_seconds=30, max_size=10, clock=FakeClock())
    for cache in (first, second):
        listen(feed, cache)
        cache.put("alice1", facts("usr_alice", "k1"), epoch=cache.epoch)
        cache.put("alice2", facts("usr_alice", "k2"), epoch=cache.epoch)
        cache.put("bob", facts("usr_bob", "k3"), epoch=cache.epoch)

    feed.publish("user", "usr_alice")

    for cache in (first, second):
        assert cache.get("alice1")[0] is False and cache.get("alice2")[0] is False
        assert cache.get("bob")[0] is True
    feed.publish("key", "bob")
    assert first.get("bob")[0] is False
    cache = KeyVerifyCache(ttl_seconds=30, max_size=10, clock=FakeClock())
    cache.put("carol", facts("usr_carol", "k4"), epoch=cache.epoch)
    feed.publish("all_keys")
    assert len(first) == len(second) == 0
    assert len(cache) == 1  # a cache that does not listen is untouched


def test_zero_ttl_disables_caching() -> None:
    cache = KeyVerifyCache(ttl_seconds=0, max_size=10, clock=FakeClock())
    cache.put("h1", facts(), epoch=cache.epoch)
    assert cache.get("h1") == (False, None)


def test_evicted_entries_leave_no_trace_in_the_per_user_index() -> None:
    cache = KeyVerifyCache(ttl_seconds=30, max_size=100, clock=FakeClock())
    for i in range(10_000):
        cache.put(f"h{i}", facts(f"usr_{i}", f"k{i}"), epoch=cache.epoch)

    assert len(cache) == 100
    assert len(cache._hashes_by_user) == 100


def test_last_used_is_noted_once_per_interval_and_flushed_in_batches() -> None:
    clock = FakeClock()
    recorder = LastUsedRecorder(interval_seconds=60, flush_seconds=5, clock=clock)

    recorder.note("k1", NOW)
    assert recorder.flush_due()  # nothing flushed yet: the first batch goes at once
    assert recorder.take() == {"k1": NOW}
    recorder.note("k1", NOW + timedelta(seconds=1))  # inside the minute: ignored
    recorder.note("k2", NOW + timedelta(seconds=1))
    assert not recorder.flush_due()  # k2 waits for the next flush slot
    clock.now += 5
    assert recorder.take() == {"k2": NOW + timedelta(seconds=1)}
    clock.now += 60
    recorder.note("k1", NOW + timedelta(seconds=66))
    assert recorder.take() == {"k1": NOW + timedelta(seconds=66)}


def test_a_full_batch_is_flushed_before_its_time() -> None:
    clock = FakeClock()
    recorder = LastUsedRecorder(interval_seconds=60, flush_seconds=5, clock=clock)
    recorder.take()
    for i in range(MAX_BATCH - 1):
        recorder.note(f"k{i}", NOW)
    assert not recorder.flush_due()
    recorder.note("one more", NOW)
    assert recorder.flush_due()


def test_verdict_boundaries_expiry_and_past_due_grace_are_exclusive() -> None:
    assert judge(None, now=NOW, past_due_grace=GRACE).reason == "unknown_key"
    assert judge(facts(expires_at=NOW + timedelta(microseconds=1)), now=NOW, past_due_grace=GRACE).valid
    assert judge(facts(expires_at=NOW), now=NOW, past_due_grace=GRACE).reason == "expired"
    revoked_and_expired = facts(revoked_at=NOW, expires_at=NOW - timedelta(days=1))
    assert judge(revoked_and_expired, now=NOW, past_due_grace=GRACE).reason == "revoked"
    in_grace = facts(subscription_status="past_due", status_changed_at=NOW - GRACE + timedelta(seconds=1))
    grace_over = facts(subscription_status="past_due", status_changed_at=NOW - GRACE)
    assert judge(in_grace, now=NOW, past_due_grace=GRACE).valid
    assert judge(grace_over, now=NOW, past_due_grace=GRACE).reason == "past_due_grace_expired"
    none = facts(subscription_status=None, customer_id=None)
    assert judge(none, now=NOW, past_due_grace=GRACE).reason == "no_subscription"
    assert judge(none, now=NOW, past_due_grace=GRACE).plan is None
