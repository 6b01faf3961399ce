"""Relays of the change feed between processes: PostgreSQL LISTEN/NOTIFY, or Redis pub/sub (REDIS_URL).

Every API process, worker and CLI command on one database publishes its committed changes (a revoked key, a
user's changed subscription, a saved billing provider, an admin token's scopes) on one channel and applies
the others' to its caches, so a revocation in one process is refused by every other within moments, not
after KEY_VERIFY_CACHE_SECONDS. PostgreSQL needs no extra service: NOTIFY goes through a dedicated
connection that also LISTENs. SQLite runs one process, so it has no relay.

A process skips its own messages (it applied them already). When the relay's connection drops, the relay
reconnects with back-off and, since messages may have been missed meanwhile, tells its own process to drop
every cached key, admin token and Stripe configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Any

import structlog

from portal_api.core.changes import ChangeFeed, Topic

log = structlog.get_logger(__name__)

CHANNEL = "portal_changes"
RECONNECT_MAX_SECONDS = 5.0
# After a gap the process may have missed changes: forget everything these topics cache.
EVERYTHING: tuple[tuple[Topic, str], ...] = (("all_keys", ""), ("admin_tokens", ""), ("billing_provider", ""))
MAX_PAYLOAD = 7000  # PostgreSQL's NOTIFY payload limit is 8000 bytes


def encode(origin: str, topic: Topic, value: str) -> str:
    return json.dumps({"o": origin, "t": topic, "v": value}, separators=(",", ":"))


def decode(payload: str | bytes) -> tuple[str, Topic, str] | None:
    try:
        message = json.loads(payload)
        return str(message["o"]), message["t"], str(message["v"])
    except (ValueError, KeyError, TypeError):
        return None


class ChangeRelay:
    """Shared machinery: a queue of outgoing messages, a supervisor that (re)connects and sends."""

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed
        self.origin = secrets.token_hex(8)
        self._outgoing: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self.connected = asyncio.Event()

    def send(self, topic: Topic, value: str) -> None:
        payload = encode(self.origin, topic, value)
        if len(payload.encode()) > MAX_PAYLOAD:
            payload = encode(self.origin, "all_keys", "")
        self._outgoing.put_nowait(payload)

    def receive(self, payload: str | bytes) -> None:
        message = decode(payload)
        if message is None:
            log.warning("change_relay_bad_message")
            return
        origin, topic, value = message
        if origin != self.origin:
            self.feed.deliver(topic, value)

    def start(self) -> None:
        if self._task is None:
            self.feed.relay = self
            self._task = asyncio.get_running_loop().create_task(self._supervise(), name="change-relay")

    async def _supervise(self) -> None:
        delay = 0.2
        first = True
        while not self._closing.is_set():
            try:
                await self._connect()
                if not first:
                    for topic, value in EVERYTHING:
                        self.feed.deliver(topic, value)
                first = False
                self.connected.set()
                delay = 0.2
                await self._pump()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("change_relay_disconnected", error=f"{type(exc).__name__}: {exc}"[:300])
            finally:
                self.connected.clear()
                await self._disconnect()
            if self._closing.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _pump(self) -> None:
        """Send queued messages until the connection fails or the relay closes."""
        while not self._closing.is_set():
            getter = asyncio.ensure_future(self._outgoing.get())
            closing = asyncio.ensure_future(self._closing.wait())
            done, pending = await asyncio.wait({getter, closing}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            if getter not in done:
                return
            payload = getter.result()
            try:
                await self._publish(payload)
            except BaseException:
                self._outgoing.put_nowait(payload)  # sent after the reconnect
                raise

    async def aclose(self) -> None:
        self._closing.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 5)
        if self.feed.relay is self:
            self.feed.relay = None

    async def _connect(self) -> None:
        raise NotImplementedError

    async def _publish(self, payload: str) -> None:
        raise NotImplementedError

    async def _disconnect(self) -> None:
        raise NotImplementedError


class PostgresRelay(ChangeRelay):
    """LISTEN/NOTIFY on one dedicated asyncpg connection (not from the pool: it stays open)."""

    def __init__(self, feed: ChangeFeed, dsn: str) -> None:
        super().__init__(feed)
        self.dsn = dsn
        self._connection: Any = None
        self._lost = asyncio.Event()

    async def _connect(self) -> None:
        import asyncpg

        self._lost.clear()
        self._connection = await asyncpg.connect(self.dsn, timeout=5)
        self._connection.add_termination_listener(lambda _c: self._lost.set())
        await self._connection.add_listener(CHANNEL, self._on_notify)

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self.receive(payload)

    async def _pump(self) -> None:
        pump = asyncio.ensure_future(super()._pump())
        lost = asyncio.ensure_future(self._lost.wait())
        done, pending = await asyncio.wait({pump, lost}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if lost in done:
            raise ConnectionError("the LISTEN connection was closed")
        pump.result()

    async def _publish(self, payload: str) -> None:
        await self._connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)


class RedisRelay(ChangeRelay):
    """Redis pub/sub (REDIS_URL): for deployments that run Redis anyway (shared rate limits)."""

    def __init__(self, feed: ChangeFeed, url: str) -> None:
        super().__init__(feed)
        self.url = url
        self._client: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        import redis.asyncio as redis

        self._client = redis.from_url(self.url, socket_connect_timeout=5)
        self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(CHANNEL)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self._pubsub.listen():
            if message.get("type") == "message":
                self.receive(message["data"])

    async def _pump(self) -> None:
        assert self._reader is not None
        pump = asyncio.ensure_future(super()._pump())
        done, pending = await asyncio.wait({pump, self._reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            if task is not self._reader:
                task.cancel()
        if self._reader in done:
            self._reader.result()  # raises the connection error
            raise ConnectionError("the Redis subscription ended")
        pump.result()

    async def _publish(self, payload: str) -> None:
        await self._client.publish(CHANNEL, payload)

    async def _disconnect(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
        for closing in (self._pubsub, self._client):
            if closing is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(closing.aclose(), 2)
        self._pubsub = self._client = None


def asyncpg_dsn(database_url: str) -> str:
    """postgresql+asyncpg://... -> postgresql://... (what asyncpg.connect takes)."""
    scheme, _, rest = database_url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgresql") else database_url


def build_relay(feed: ChangeFeed, *, database_url: str, redis_url: str) -> ChangeRelay | None:
    if redis_url:
        return RedisRelay(feed, redis_url)
    if database_url.startswith("postgresql"):
        return PostgresRelay(feed, asyncpg_dsn(database_url))
    return None
