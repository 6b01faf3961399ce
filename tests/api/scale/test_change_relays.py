"""The change feed's relays between processes: PostgreSQL LISTEN/NOTIFY and Redis pub/sub carry a committed
change to the other feeds, a process does not apply its own message twice, a dropped connection is
reconnected (and the process forgets what it may have missed); SQLite refuses to serve several processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from portal_api.config import Settings
from portal_api.core.change_relay import ChangeRelay, PostgresRelay, RedisRelay, asyncpg_dsn
from portal_api.core.changes import ChangeFeed
from portal_api.db import create_engine
from portal_api.services import build_services

REDIS_URL = "redis://127.0.0.1:6379/15"


def heard(feed: ChangeFeed) -> list[tuple[str, str]]:
    got: list[tuple[str, str]] = []
    for topic in ("user", "key", "all_keys", "admin_tokens", "billing_provider"):
        feed.subscribe(topic, lambda value, topic=topic: got.append((topic, value)))  # type: ignore[misc]
    return got


async def eventually(condition: Callable[[], bool], within: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "not delivered in time"
        await asyncio.sleep(0.02)


@pytest.fixture(params=["postgresql", "redis"])
def relay_kind(request: pytest.FixtureRequest) -> Callable[[ChangeFeed], ChangeRelay]:
    # A plain fixture: the session's PostgreSQL database is made outside the event loop.
    if request.param == "postgresql":
        url = request.getfixturevalue("postgresql_url")
        return lambda feed: PostgresRelay(feed, asyncpg_dsn(url))
    return lambda feed: RedisRelay(feed, REDIS_URL)


@pytest.fixture
def postgres(postgresql_url: str) -> str:
    return postgresql_url


async def test_a_shared_change_reaches_the_other_process_once(relay_kind: Any) -> None:
    one, other = ChangeFeed(), ChangeFeed()
    got_one, got_other = heard(one), heard(other)
    relays = [relay_kind(one), relay_kind(other)]
    for relay in relays:
        relay.start()
    try:
        await asyncio.wait_for(asyncio.gather(*(r.connected.wait() for r in relays)), 10)
        one.publish("key", "hash-1", share=True)
        one.publish("user", "usr_local_only")  # not shared: stays in this process

        await eventually(lambda: ("key", "hash-1") in got_other)
        await asyncio.sleep(0.2)
        assert got_other == [("key", "hash-1")]
        assert got_one == [("key", "hash-1"), ("user", "usr_local_only")]  # its own message not applied twice
    finally:
        for relay in relays:
            await relay.aclose()


async def test_after_its_connection_drops_the_relay_reconnects_and_forgets_what_it_may_have_missed(
    postgres: str,
) -> None:
    postgresql_url = postgres
    one, other = ChangeFeed(), ChangeFeed()
    got_other = heard(other)
    relays = [
        PostgresRelay(one, asyncpg_dsn(postgresql_url)),
        PostgresRelay(other, asyncpg_dsn(postgresql_url)),
    ]
    for relay in relays:
        relay.start()
    engine = create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    try:
        await asyncio.wait_for(asyncio.gather(*(r.connected.wait() for r in relays)), 10)
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
                )
            )
        await eventually(lambda: ("all_keys", "") in got_other, within=10)
        await asyncio.wait_for(asyncio.gather(*(r.connected.wait() for r in relays)), 10)
        one.publish("admin_tokens", "", share=True)
        await eventually(lambda: ("admin_tokens", "") in got_other)
    finally:
        await engine.dispose()
        for relay in relays:
            await relay.aclose()


@pytest.mark.parametrize("variable", ["WEB_CONCURRENCY", "API_WORKERS"])
def test_sqlite_refuses_to_serve_several_processes(
    monkeypatch: pytest.MonkeyPatch, variable: str, tmp_path: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    monkeypatch.setenv(variable, "4")
    with pytest.raises(RuntimeError, match="SQLite serves a single process"):
        build_services(settings)
    monkeypatch.setenv(variable, "1")
    assert build_services(settings).relay is None
    postgres = settings.model_copy(update={"database_url": "postgresql+asyncpg://u@127.0.0.1:5432/x"})
    monkeypatch.setenv(variable, "4")
    assert isinstance(build_services(postgres).relay, PostgresRelay)  # several processes are fine there
