"""`portal-api` run as a process from a fresh directory: every command says which database it uses (the
password masked), none creates a database but `migrate --create`, and all but `migrate` refuse, with exit
code 2 and what to run, a database that does not exist or is not migrated (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url

from portal_api.migrate import alembic_config, head_revision
from tests.fixtures.database import new_postgresql_database

DEFAULT_URL = "sqlite+aiosqlite:///./portal.db"
SECRET = "test-secret-key-" + "x" * 32
COMMANDS = {
    "create-admin": ["create-admin", "owner@example.com"],
    "worker": ["worker"],
    "backfill": ["backfill", "--from", "2025-01-01", "--to", "2025-01-02"],
    "report": ["report"],
    "migrate": ["migrate"],
}


def portal_api(
    cwd: Path, *args: str, database_url: str = DEFAULT_URL, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m portal_api.cli ...` in `cwd`, with a clean environment (as a fresh shell would have)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "STRIPE_", "ADMIN_", "REPORTING_"))
    }
    env |= {
        "DATABASE_URL": database_url,  # the default, given so that a developer's .env cannot change it
        "SECRET_KEY": SECRET,
        "STRIPE_API_BASE": "http://127.0.0.1:9",  # no Stripe call is expected; none could reach anything
        "LOG_JSON": "false",
        "LOG_LEVEL": "WARNING",
        "DB_TRANSACTION_GUARD": "raise",
    }
    return subprocess.run(
        [sys.executable, "-m", "portal_api.cli", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no controlling terminal: getpass reads the password from stdin
    )


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    folder = tmp_path / "fresh-shell"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_no_command_creates_a_database_in_a_fresh_directory(fresh: Path, args: list[str]) -> None:
    done = portal_api(fresh, *args)

    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.startswith(f"portal-api {args[0]}: database {DEFAULT_URL} (file {fresh}/portal.db)\n")
    assert f"the database file {fresh}/portal.db does not exist" in done.stderr
    assert "portal-api migrate --create" in done.stderr
    assert list(fresh.iterdir()) == []  # the old bug: an empty ./portal.db, and "backfill succeeded: 0 sent"


def test_migrate_creates_the_sqlite_file_when_asked_and_then_every_command_runs(fresh: Path) -> None:
    created = portal_api(fresh, "migrate", "--create")
    again = portal_api(fresh, "migrate")
    report = portal_api(fresh, "report")
    admin = portal_api(fresh, "create-admin", "owner@example.com", stdin="a long enough password\n")
    backfill = portal_api(fresh, "backfill", "--from", "2025-01-01", "--to", "2025-01-02")

    assert created.returncode == 0, created.stderr
    assert f"created the database file {fresh}/portal.db" in created.stdout
    assert f"database is up to date (migration {head_revision()})" in created.stdout
    assert again.returncode == 0 and "created" not in again.stdout
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith(f"portal-api report: database {DEFAULT_URL} (file {fresh}/portal.db)\n")
    assert "report succeeded: 0 sent" in report.stdout
    assert admin.returncode == 0, admin.stderr
    assert "admin owner@example.com ready" in admin.stdout
    assert backfill.returncode == 0, backfill.stderr
    assert "backfill succeeded: 0 sent" in backfill.stdout
    assert sorted(p.name for p in fresh.iterdir() if not p.name.endswith(("-wal", "-shm"))) == ["portal.db"]


def test_migrate_cannot_create_a_file_in_a_directory_that_does_not_exist(fresh: Path) -> None:
    done = portal_api(fresh, "migrate", "--create", database_url="sqlite+aiosqlite:///./nowhere/portal.db")

    assert done.returncode == 2
    assert f"the directory {fresh}/nowhere does not exist" in done.stderr


def _migrate_sqlite_to(path: Path, revision: str) -> None:
    """Bring an SQLite file to an older migration, as an older portal-api would have left it."""
    engine = create_sync_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, fresh: Path) -> Iterator[str]:
    """An existing database with no tables: an empty SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        (fresh / "empty.db").touch()
        yield "sqlite+aiosqlite:///./empty.db"
    else:
        with new_postgresql_database() as url:
            yield url


def test_commands_refuse_a_database_that_is_not_migrated(fresh: Path, empty_database: str) -> None:
    refused = portal_api(fresh, "report", database_url=empty_database)
    migrated = portal_api(fresh, "migrate", database_url=empty_database)
    report = portal_api(fresh, "report", database_url=empty_database)

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "is not migrated (it has no portal tables): run `portal-api migrate` first" in refused.stderr
    assert migrated.returncode == 0, migrated.stderr
    assert "created" not in migrated.stdout
    assert report.returncode == 0, report.stderr
    assert "report succeeded: 0 sent" in report.stdout


def test_commands_refuse_a_database_an_older_portal_api_left(fresh: Path) -> None:
    _migrate_sqlite_to(fresh / "old.db", "0008_scopes_and_stripe_config")

    refused = portal_api(fresh, "worker", database_url="sqlite+aiosqlite:///./old.db")

    assert refused.returncode == 2
    assert (
        f"is at migration 0008_scopes_and_stripe_config, this code needs {head_revision()}: "
        "run `portal-api migrate` first"
    ) in refused.stderr


def test_the_database_password_is_never_printed(fresh: Path) -> None:
    with new_postgresql_database() as url:
        with_password = make_url(url).set(password="s3cret-pw").render_as_string(hide_password=False)
        assert portal_api(fresh, "migrate", database_url=with_password).returncode == 0

        done = portal_api(fresh, "report", database_url=with_password)
        missing = portal_api(
            fresh, "report", database_url=with_password.rsplit("/", 1)[0] + "/mdp_no_such_db"
        )

    assert done.returncode == 0, done.stderr
    shown = with_password.replace(":s3cret-pw@", ":***@")
    assert done.stdout.startswith(f"portal-api report: database {shown}\n")
    assert missing.returncode == 2 and 'database "mdp_no_such_db" does not exist' in missing.stderr
    for output in (done.stdout, done.stderr, missing.stdout, missing.stderr):
        assert "s3cret-pw" not in output
