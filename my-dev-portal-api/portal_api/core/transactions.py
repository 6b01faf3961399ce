"""The transaction guard: which asyncio tasks hold an open database transaction, checked before network waits.

The rule (docs/ARCHITECTURE.md, "Transactions"): no database transaction is open while the same task waits on
the network — a Stripe call, a request body, SMTP. On SQLite a write transaction is the whole database's lock,
and on PostgreSQL an idle transaction pins a pooled connection and its row locks.

`watch_engine()` (called by db.create_engine) counts transactions per task from SQLAlchemy's begin, commit and
rollback events. Code about to wait on the network calls `check_no_transaction(what)`: with
DB_TRANSACTION_GUARD=raise (the test suite) that raises `TransactionHeldAcrossNetwork`, with `log` (the
default) it logs a warning naming the call, with `off` it does nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Literal

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger(__name__)

GuardMode = Literal["off", "log", "raise"]

_open: weakref.WeakKeyDictionary[asyncio.Task[Any], int] = weakref.WeakKeyDictionary()
_mode: GuardMode = "log"
_TASK_KEY = "portal_tx_task"


class TransactionHeldAcrossNetwork(RuntimeError):
    """A task waited on the network while it held an open database transaction."""


def set_guard_mode(mode: GuardMode) -> None:
    global _mode
    _mode = mode


def guard_mode() -> GuardMode:
    return _mode


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop (sync code, Alembic's own engine)
        return None


def open_transactions() -> int:
    """How many database transactions the current task holds open."""
    task = _current_task()
    return _open.get(task, 0) if task is not None else 0


def check_no_transaction(what: str) -> None:
    """Call before waiting on the network for `what` (e.g. "Stripe GET /v1/prices/{id}")."""
    if _mode == "off":
        return
    held = open_transactions()
    if not held:
        return
    message = f"{what} started while this task holds {held} open database transaction(s)"
    if _mode == "raise":
        raise TransactionHeldAcrossNetwork(message)
    log.warning("transaction_held_across_network", call=what, open_transactions=held)


def _begun(conn: Any) -> None:
    task = _current_task()
    if task is None:
        return
    conn.info[_TASK_KEY] = task
    _open[task] = _open.get(task, 0) + 1


def _ended(conn: Any) -> None:
    task = conn.info.pop(_TASK_KEY, None)
    if task is None:
        return
    left = _open.get(task, 0) - 1
    if left > 0:
        _open[task] = left
    else:
        _open.pop(task, None)


def watch_engine(engine: AsyncEngine) -> None:
    """Count the transactions of `engine`'s connections per task (begin -> +1, commit/rollback -> -1)."""
    sync_engine = engine.sync_engine
    event.listen(sync_engine, "begin", _begun)
    event.listen(sync_engine, "commit", _ended)
    event.listen(sync_engine, "rollback", _ended)
