"""Client addresses behind trusted proxies, and the in-process rate limit counters under limits strategies."""

from __future__ import annotations

import time
from typing import Any

import pytest
from limits import parse
from limits.aio.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter

from portal_api.protection.client_ip import ClientAddresses, parse_address
from portal_api.protection.rate_limit_storage import LocalMemoryStorage


def scope(peer: str | None, *forwarded: str) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 5000) if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


@pytest.mark.parametrize(
    ("hop", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7:4431 ", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("unknown", None),
        ("", None),
        ("[::1", None),
    ],
)
def test_forwarded_hops_are_parsed_with_or_without_ports(hop: str, expected: str | None) -> None:
    parsed = parse_address(hop)
    assert (str(parsed) if parsed else None) == expected


def test_forwarded_for_is_ignored_without_trusted_proxies_or_from_an_untrusted_peer() -> None:
    assert ClientAddresses([]).of(scope("10.0.0.5", "198.51.100.1")) == "10.0.0.5"
    assert ClientAddresses(["10.0.0.0/8"]).of(scope("192.0.2.9", "198.51.100.1")) == "192.0.2.9"


def test_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    clients = ClientAddresses(["10.0.0.0/8", "fd00::/8"])

    # The client claims 1.1.1.1; the edge proxy appended the real address, an inner proxy its own.
    assert clients.of(scope("10.0.0.2", "1.1.1.1, 198.51.100.23, 10.0.0.9")) == "198.51.100.23"
    assert clients.of(scope("10.0.0.2", "1.1.1.1", "198.51.100.23")) == "198.51.100.23"  # two header lines
    assert clients.of(scope("10.0.0.2")) == "10.0.0.2"  # trusted peer without the header
    assert clients.of(scope("10.0.0.2", "10.0.0.3, 10.0.0.4")) == "10.0.0.3"  # all proxies: the farthest
    assert clients.of(scope("10.0.0.2", "garbage, 10.0.0.4")) == "10.0.0.4"  # stop at what can be trusted
    assert clients.of(scope(None)) == "unknown"


def test_the_address_is_computed_once_per_request() -> None:
    request = scope("10.0.0.2", "198.51.100.23")
    clients = ClientAddresses(["10.0.0.0/8"])

    assert clients.of(request) == "198.51.100.23"
    request["headers"] = []
    assert clients.of(request) == "198.51.100.23"


async def test_sliding_window_on_local_storage_allows_the_limit_then_refuses() -> None:
    limiter = SlidingWindowCounterRateLimiter(LocalMemoryStorage())
    item = parse("3/minute")

    answers = [await limiter.hit(item, "login", "ip:a") for _ in range(4)]
    other = await limiter.hit(item, "login", "ip:b")
    stats = await limiter.get_window_stats(item, "login", "ip:a")

    assert answers == [True, True, True, False]
    assert other is True
    assert stats.remaining == 0 and 0 < stats.reset_time - time.time() <= 60


async def test_fixed_window_on_local_storage_counts_and_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    limiter = FixedWindowRateLimiter(LocalMemoryStorage())
    item = parse("2/second")

    assert [await limiter.hit(item, "k") for _ in range(3)] == [True, True, False]
    now[0] += 1.01
    assert await limiter.hit(item, "k") is True


async def test_expired_keys_are_swept_and_the_table_never_exceeds_max_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    storage = LocalMemoryStorage(max_keys=5_000)

    for i in range(3_000):
        await storage.incr(f"old{i}", 10)
    now[0] += 11  # all of them expired
    for i in range(2_000):
        await storage.incr(f"new{i}", 10)
    assert len(storage) <= 2_000 + 1_024  # a sweep ran once the table had grown past its mark

    for i in range(20_000):  # a flood of distinct live clients
        await storage.incr(f"flood{i}", 10)
    assert len(storage) <= 5_000
    assert await storage.get("flood19999") == 1
