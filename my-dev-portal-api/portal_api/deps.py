"""Request plumbing shared by every router: ServicesDep, Session (the write unit), ReadSession, SettingsDep.

Sign-in dependencies (CurrentUser, AdminUser, AdminCaller, token scopes) live with their features in
accounts/deps.py and admin/deps.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.config import Settings
from portal_api.core.container import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work. Its transaction begins at its first statement and is committed before the
    response is sent, so a 2xx always means "stored". Use it only in handlers that do not wait on the network
    after their first query (those run read/network/write phases on `services.database`)."""
    async with services.database.write() as session:
        yield session


async def get_read_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    """A session for queries only (no lock on SQLite); writing through it raises."""
    async with services.database.read() as session:
        yield session


async def get_settings_dep(services: ServicesDep) -> Settings:
    return services.settings


# scope="function": the commit happens before the response is sent.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None
