"""Transaction discipline on SQLite and PostgreSQL: the guard refuses a Stripe call made with a transaction
open; read sessions take no lock and refuse writes; write sessions are the unit of work."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from portal_api.accounts.models import User
from portal_api.config import Settings
from portal_api.core.transactions import (
    TransactionHeldAcrossNetwork,
    check_no_transaction,
    open_transactions,
    set_guard_mode,
)
from portal_api.db import ReadOnlyWrite
from portal_api.main import services_of
from stripe_emulator.testing import EmulatorServer
from tests.api.hardening.conftest import CapturedLogs


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], emulator: EmulatorServer) -> Settings:
    return settings_factory(
        stripe_api_base=emulator.url, stripe_api_key="sk_test_guard", stripe_max_retries=0
    )


async def test_a_stripe_call_inside_an_open_transaction_is_refused(
    app: Any, emulator: EmulatorServer
) -> None:
    catalog = emulator.seed()
    services = services_of(app)
    gateway = await services.stripe.gateway()

    for open_session in (services.database.write, services.database.read):
        async with open_session() as session:
            await session.execute(text("SELECT 1"))
            assert open_transactions() == 1
            with pytest.raises(TransactionHeldAcrossNetwork, match="Stripe call"):
                await gateway.retrieve_price(catalog["prices"]["payg"])
        assert open_transactions() == 0
    assert (await gateway.retrieve_price(catalog["prices"]["payg"]))["id"] == catalog["prices"]["payg"]
    assert emulator.request_count("GET", f"/v1/prices/{catalog['prices']['payg']}") == 1  # never sent inside


async def test_a_session_that_has_not_begun_holds_no_transaction(app: Any) -> None:
    async with services_of(app).database.write() as session:
        assert open_transactions() == 0
        check_no_transaction("reading the request body")  # fine: nothing began yet
        session.add(User(email="lazy@example.com", password_hash="x"))
        await session.flush()
        with pytest.raises(TransactionHeldAcrossNetwork, match="request body"):
            check_no_transaction("reading the request body")


async def test_in_log_mode_the_guard_warns_and_lets_the_call_through(app: Any) -> None:
    captured = CapturedLogs()
    logging.getLogger().addHandler(captured)
    set_guard_mode("log")
    try:
        async with services_of(app).database.read() as session:
            await session.execute(text("SELECT 1"))
            check_no_transaction("Stripe call (price)")
    finally:
        set_guard_mode("raise")
        logging.getLogger().removeHandler(captured)
    [warning] = captured.named("transaction_held_across_network")
    assert warning["call"] == "Stripe call (price)" and warning["level"] == "warning"


async def test_a_read_session_refuses_to_write(app: Any) -> None:
    async with services_of(app).database.read() as session:
        session.add(User(email="nope@example.com", password_hash="x"))
        with pytest.raises(ReadOnlyWrite):
            await session.flush()
    async with services_of(app).database.read() as session:
        assert await session.scalar(select(User).where(User.email == "nope@example.com")) is None


async def test_the_write_unit_commits_on_success_and_rolls_back_on_error(app: Any) -> None:
    database = services_of(app).database
    async with database.write() as session:
        session.add(User(email="kept@example.com", password_hash="x"))
    with pytest.raises(RuntimeError):
        async with database.write() as session:
            session.add(User(email="dropped@example.com", password_hash="x"))
            await session.flush()
            raise RuntimeError("boom")
    async with database.read() as session:
        emails = set(await session.scalars(select(User.email)))
    assert "kept@example.com" in emails and "dropped@example.com" not in emails


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_an_open_read_does_not_hold_up_a_writer_but_an_open_write_does(app: Any) -> None:
    database = services_of(app).database

    async def timed_write(email: str) -> float:
        started = time.monotonic()
        async with database.write() as session:
            session.add(User(email=email, password_hash="x"))
        return time.monotonic() - started

    async with database.read() as reader:
        await reader.execute(select(User))  # a deferred read transaction is open
        assert await asyncio.wait_for(timed_write("beside-a-read@example.com"), 5) < 1

    release = asyncio.Event()

    async def hold_the_write_lock() -> None:
        async with database.write() as session:
            session.add(User(email="holder@example.com", password_hash="x"))
            await session.flush()  # BEGIN IMMEDIATE: the lock is taken
            await release.wait()

    holder = asyncio.create_task(hold_the_write_lock())
    await asyncio.sleep(0.2)
    waiting = asyncio.create_task(timed_write("after-the-holder@example.com"))
    await asyncio.sleep(0.5)
    assert not waiting.done()  # queued on the lock (busy timeout), not failed
    release.set()
    await holder
    assert await asyncio.wait_for(waiting, 10) >= 0.5
