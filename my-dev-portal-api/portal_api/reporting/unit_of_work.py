"""`unit_of_work(factory)`: a session that commits when the block succeeds and rolls back when it raises."""

from contextlib import asynccontextmanager

from portal_api.db import session_scope

unit_of_work = asynccontextmanager(session_scope)
