"""Engine, the Database (read sessions and the write unit of work, the one place that commits), Base."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from portal_api.core.transactions import watch_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Opaque, URL-safe ids with a type prefix, like Stripe's (`usr_...`, `key_...`)."""
    return f"{prefix}_{secrets.token_hex(12)}"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


WRITE_OPTION = "portal_write"


def _configure_sqlite(engine: AsyncEngine) -> None:
    # WAL lets readers run beside the one writer. Reads begin a deferred transaction, which takes no lock;
    # writes (Database.write) begin IMMEDIATE, taking the write lock up front so two writers queue on the
    # busy timeout instead of failing with "database is locked" when a read transaction upgrades.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")


def create_engine(database_url: str, *, echo: bool = False, **kwargs: Any) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, echo=echo, **kwargs)
        _configure_sqlite(engine)
    else:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_async_engine(database_url, echo=echo, **kwargs)
    watch_engine(engine)
    return engine


class ReadOnlyWrite(RuntimeError):
    """Something was added or changed on a read session; writes belong in Database.write()."""


class _ReadSession(Session):
    """The sync session behind read sessions: flushing a change is a bug (on SQLite it would upgrade a
    deferred transaction to a write and could fail with SQLITE_BUSY)."""


@event.listens_for(_ReadSession, "before_flush")
def _refuse_flush(session: Session, *_: Any) -> None:
    raise ReadOnlyWrite("a read session tried to write; use Database.write() for changes")


class Database:
    """The engine and its two kinds of session.

    `read()` yields a session for queries and closes it (rolling back) at the end of the block; on SQLite it
    takes no lock. `write()` is the unit of work: it commits when the block succeeds and rolls back when it
    raises; on SQLite it holds the write lock from its first statement to the commit, so keep it short and
    never wait on the network inside it (see core/transactions.py). The request `Session` dependency and
    every job use `write()`: it is the one place that commits.
    """

    def __init__(self, engine: AsyncEngine, *, session_info: dict[str, Any] | None = None) -> None:
        self.engine = engine
        info = dict(session_info or {})
        self.read_factory = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=True, sync_session_class=_ReadSession, info=info
        )
        self.write_factory = async_sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}),
            expire_on_commit=False,
            autoflush=True,
            info=info,
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.read_factory() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with self.write_factory() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    def write_engine(self) -> AsyncEngine:
        """The engine whose transactions take SQLite's write lock at BEGIN (migrations, bulk writes)."""
        return self.engine.execution_options(**{WRITE_OPTION: True})

    async def dispose(self) -> None:
        await self.engine.dispose()
