"""The per-account login throttle: exponential back-off after repeated failures, which an attacker cannot
turn into a lock-out of the account's owner.

Beside the per-address rate limit (RATE_LIMIT_LOGIN), failed logins are counted per account (the e-mail, known
or not, so the answers reveal nothing) in two ways:
- per (account, client address): after FREE_FAILURES failures in a row, the next attempt from that address
  must wait 1 s, then 2 s, 4 s, ... (doubling with each further failure) up to MAX_BACKOFF (15 min);
- per account, from any address: after ACCOUNT_FREE_FAILURES failures in a row (an attack from many
  addresses), the same doubling back-off applies to every address, except those the account signed in from
  successfully within KNOWN_ADDRESS_DAYS (30 days): the owner's usual addresses are never held up by
  someone else's guessing.
An attempt made during a back-off is answered 429 `login_backoff` with Retry-After, without checking the
password (so guessing gets no faster). A successful login clears both counters; failures older than
FORGET_AFTER (24 h) start the count afresh. The worst an attacker can do to the owner signing in from a new
address is a wait of at most 15 minutes per attempt while the attack goes on.
The counters live in the database, so every API process shares them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.accounts.models import LoginThrottle
from portal_api.db import Database
from portal_api.errors import PortalError

FREE_FAILURES = 5
ACCOUNT_FREE_FAILURES = 20
MAX_BACKOFF = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)
KNOWN_ADDRESS_DAYS = 30


class LoginBackoff(PortalError):
    status, code = 429, "login_backoff"

    def __init__(self, seconds: int) -> None:
        super().__init__(
            f"Too many failed logins for this account; try again in {seconds} s", retry_after=seconds
        )


def account_key(email: str) -> str:
    return f"account:{email}"


def address_key(email: str, address: str) -> str:
    return f"account_ip:{email}|{address}"


def known_key(email: str, address: str) -> str:
    return f"known:{email}|{address}"


def backoff(failures: int, free: int) -> timedelta:
    """How long to wait after `failures` failures in a row when `free` of them cost nothing."""
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free, 20)), MAX_BACKOFF)


def _remaining(row: LoginThrottle | None, free: int, now: datetime) -> float:
    if row is None or row.last_failure_at is None or now - row.last_failure_at >= FORGET_AFTER:
        return 0.0
    wait_until = row.last_failure_at + backoff(row.failures, free)
    return max((wait_until - now).total_seconds(), 0.0)


async def wait_before_attempt(database: Database, email: str, address: str, now: datetime) -> float:
    """Seconds this address must still wait before trying this account again (0: it may try now)."""
    keys = [account_key(email), address_key(email, address), known_key(email, address)]
    async with database.read() as session:
        rows = {
            row.key: row
            for row in await session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))
        }
    known = rows.get(keys[2])
    is_known = (
        known is not None
        and known.last_success_at is not None
        and (now - known.last_success_at < timedelta(days=KNOWN_ADDRESS_DAYS))
    )
    waits = [_remaining(rows.get(keys[1]), FREE_FAILURES, now)]
    if not is_known:
        waits.append(_remaining(rows.get(keys[0]), ACCOUNT_FREE_FAILURES, now))
    return max(waits)


def _insert(session: AsyncSession) -> Any:
    return (
        postgresql.insert
        if session.bind is not None and session.bind.dialect.name == "postgresql"
        else sqlite.insert
    )


async def record_failure(database: Database, email: str, address: str, now: datetime) -> None:
    """Count a failed attempt for the account and for the (account, address) pair."""
    async with database.write() as session:
        insert = _insert(session)
        for key in (account_key(email), address_key(email, address)):
            stale = LoginThrottle.last_failure_at.is_(None) | (
                LoginThrottle.last_failure_at < now - FORGET_AFTER
            )
            statement = insert(LoginThrottle).values(key=key, failures=1, last_failure_at=now)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[LoginThrottle.key],
                    set_={
                        "failures": case((stale, 1), else_=LoginThrottle.failures + 1),
                        "last_failure_at": now,
                    },
                )
            )


async def record_success(session: AsyncSession, email: str, address: str, now: datetime) -> None:
    """In the login's write: clear the account's counters and remember the address as known (two
    statements: a login shares the event loop with the key-verify hot path)."""
    await session.execute(
        delete(LoginThrottle).where(LoginThrottle.key.in_([account_key(email), address_key(email, address)]))
    )
    statement = _insert(session)(LoginThrottle).values(
        key=known_key(email, address), failures=0, last_success_at=now
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=[LoginThrottle.key], set_={"last_success_at": now})
    )
