"""Which database a command works on, and whether it exists and is migrated, found out before it is used.

Connecting to SQLite creates the file, so a command run from the wrong directory (the default DATABASE_URL
is the relative `./portal.db`) used to make an empty database there and report "0 sent". Every command now
says which database it uses (password masked, an SQLite file as its absolute path), and all but
`migrate --create` refuse (exit code 2) a database that is not there: for SQLite the file is looked for
without connecting, then opened read-only; for PostgreSQL the database must accept a connection. Commands
other than `migrate` also refuse one that is not at this code's migration head.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from portal_api.db import create_engine
from portal_api.migrate import current_revision, head_revision, known_revisions

MIGRATE_FIRST = "run `portal-api migrate` first"
CREATE_FIRST = "run `portal-api migrate --create` to make a new one there, or set DATABASE_URL to yours"


class DatabaseNotReady(Exception):
    """The command must not run on this database; the message says why and what to do."""


def shown_url(url: str) -> str:
    """The URL with its password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an invalid DATABASE_URL)"


def sqlite_file(url: str) -> Path | None:
    """The absolute path of an SQLite database file (relative paths are relative to the current directory);
    None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    return Path(database.removeprefix("file:").split("?", 1)[0]).expanduser().resolve()


def describe(url: str) -> str:
    """`database <url>` and, for SQLite, the file it is."""
    try:
        path = sqlite_file(url)
    except ArgumentError:
        path = None
    return f"database {shown_url(url)}" + (f" (file {path})" if path is not None else "")


def _sqlite_revision(path: Path) -> str | None:
    # Read-only, so looking never creates or changes the file.
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None  # no alembic_version table (never migrated), or not an SQLite file at all
    finally:
        connection.close()
    return str(row[0]) if row else None


async def _server_revision(url: str) -> str | None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(current_revision)
    except Exception as exc:
        text = str(exc).strip()
        # SQLAlchemy prefixes the driver's message with its class, "(sqlalchemy...Error) ...".
        first = re.sub(r"^\([\w.]+\)\s*", "", text.splitlines()[0]) if text else type(exc).__name__
        raise DatabaseNotReady(
            f"cannot connect to the {describe(url)}: {first[:300]} (create the database and check "
            "DATABASE_URL, then run `portal-api migrate`)"
        ) from None
    finally:
        await engine.dispose()


async def revision_of(url: str) -> str | None:
    """The database's migration revision (None: not migrated); DatabaseNotReady when it is not there."""
    try:
        path = sqlite_file(url)
    except ArgumentError:
        raise DatabaseNotReady("DATABASE_URL is not a database URL") from None
    if path is not None:
        if not path.is_file():
            raise DatabaseNotReady(f"the database file {path} does not exist: {CREATE_FIRST}")
        return _sqlite_revision(path)
    return await _server_revision(url)


async def check_ready(url: str) -> str:
    """The database's revision when it is there and at this code's head; DatabaseNotReady otherwise."""
    revision = await revision_of(url)
    head = head_revision()
    if revision is None:
        raise DatabaseNotReady(
            f"the {describe(url)} is not migrated (it has no portal tables): {MIGRATE_FIRST}"
        )
    if revision != head:
        if revision not in known_revisions():
            raise DatabaseNotReady(
                f"the {describe(url)} is at migration {revision}, which this code does not know (a newer "
                "portal-api migrated it): update portal-api"
            )
        raise DatabaseNotReady(
            f"the {describe(url)} is at migration {revision}, this code needs {head}: {MIGRATE_FIRST}"
        )
    return revision
