"""Usage storage behind the `UsageStore` protocol; `SqlUsageStore` serves SQLite and PostgreSQL."""

from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.metering.store.base import HourlyRollup, UsageStore
from portal_api.metering.store.sql import SqlUsageStore

__all__ = ["HourlyRollup", "SqlUsageStore", "UsageStore", "store_for"]


def store_for(session: AsyncSession) -> UsageStore:
    """The usage store bound to this session's transaction (the SQL store; ClickHouse would plug in here)."""
    return SqlUsageStore(session)
