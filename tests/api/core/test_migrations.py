"""Alembic: one head; a database from before scopes keeps its admin tokens, now scoped verify + ingest (no
admin), and its console-saved billing provider settings (source `database`), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from portal_api.db import create_engine
from portal_api.migrate import alembic_config
from tests.fixtures.database import PG_ADMIN_URL

BEFORE_SCOPES = "0007_single_head"


def test_the_migrations_have_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == ["0010_plan_changes"]


async def _admin_sql(sql: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("postgresql_url")  # skips (or fails under CI) when PostgreSQL is unreachable
    name = f"mdp_migrate_{secrets.token_hex(6)}"
    asyncio.run(_admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def test_tokens_made_before_scopes_can_verify_and_ingest_but_not_administer(
    empty_database: str,
) -> None:
    engine = create_engine(empty_database)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, BEFORE_SCOPES)
            await conn.execute(
                text(
                    "INSERT INTO admin_tokens (id, name, prefix, token_hash, created_at) "
                    "VALUES ('atk_old', 'gateway', 'mdp_admin_abcdef', 'hash-of-old', CURRENT_TIMESTAMP)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO billing_provider_settings (id, provider, api_version, updated_at) "
                    "VALUES ('default', 'stripe', '2020-08-27', CURRENT_TIMESTAMP)"
                )
            )
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, "head")
            scopes = await conn.scalar(text("SELECT scopes FROM admin_tokens WHERE id = 'atk_old'"))
            source = await conn.scalar(text("SELECT source FROM billing_provider_settings"))
    finally:
        await engine.dispose()
    assert scopes == "verify ingest"
    assert source == "database"
