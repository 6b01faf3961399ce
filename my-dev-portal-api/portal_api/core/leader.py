"""Leader election for the background jobs: exactly one process on a database runs them.

On PostgreSQL every process (API replicas, their workers, `portal-api worker`) competes for one session-level
advisory lock on a dedicated connection, trying every LEADER_POLL_SECONDS. The holder runs the jobs; should it
die, PostgreSQL releases the lock as its connection closes, and another process takes over at its next try.
Should the holder lose its connection, it stops its jobs (they are asked to stop, as at shutdown) and competes
again. SQLite serves a single process, which always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)

JOBS_LOCK_KEY = 0x6D64706A6F627321  # "mdpjobs!"
LEADER_POLL_SECONDS = 2.0


class Leadership:
    """Calls `on_elected` when this process wins and `on_deposed` when it loses; until `aclose()`."""

    def __init__(
        self,
        dsn: str | None,
        on_elected: Callable[[], Awaitable[None]],
        on_deposed: Callable[[], Awaitable[None]],
        *,
        poll_seconds: float = LEADER_POLL_SECONDS,
    ) -> None:
        self.dsn = dsn
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self.poll_seconds = poll_seconds
        self.leading = False
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="jobs-leadership")

    async def _run(self) -> None:
        if self.dsn is None:  # SQLite: the only process
            await self._elected()
            await self._closing.wait()
            return
        while not self._closing.is_set():
            connection: Any = None
            try:
                import asyncpg

                connection = await asyncpg.connect(self.dsn, timeout=5)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                while not self._closing.is_set() and not lost.is_set():
                    if await connection.fetchval("SELECT pg_try_advisory_lock($1)", JOBS_LOCK_KEY):
                        await self._elected()
                        await _first(self._closing.wait(), lost.wait())
                        break
                    await _first(self._closing.wait(), lost.wait(), asyncio.sleep(self.poll_seconds))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("jobs_leadership_connection_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            finally:
                if self.leading:
                    await self._deposed()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), 2)  # closing it releases the lock
            if not self._closing.is_set():
                await _first(self._closing.wait(), asyncio.sleep(self.poll_seconds))

    async def _elected(self) -> None:
        self.leading = True
        log.info("jobs_leader_elected")
        await self._on_elected()

    async def _deposed(self) -> None:
        self.leading = False
        log.info("jobs_leader_deposed")
        await self._on_deposed()

    async def aclose(self) -> None:
        self._closing.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 15)


async def _first(*waits: Awaitable[Any]) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
