"""create_app(): settings, database, routers, error handler (uvicorn portal_api.main:create_app --factory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from portal_api.accounts.router import router as accounts_router
from portal_api.bootstrap import bootstrap_admin
from portal_api.config import Settings, get_settings
from portal_api.db import create_engine, create_session_factory
from portal_api.errors import install_error_handlers
from portal_api.health import router as health_router
from portal_api.logging_setup import configure_logging
from portal_api.migrate import upgrade_database
from portal_api.security import Passwords, SessionTokens


def api_v1_router() -> APIRouter:
    v1 = APIRouter(prefix="/v1")
    v1.include_router(accounts_router)
    return v1


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_production_ready()
    configure_logging(settings.log_level, json=settings.log_json)

    engine = create_engine(settings.database_url, echo=settings.database_echo)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations_on_start:
            await upgrade_database(engine)
        await bootstrap_admin(app)
        yield
        await engine.dispose()

    app = FastAPI(title="My Dev Portal API", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    app.state.passwords = Passwords(settings)
    app.state.session_tokens = SessionTokens(settings)

    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(api_v1_router())
    return app
