"""Start-up seeding of the provider admin user and admin API token from ADMIN_BOOTSTRAP_* settings."""

from __future__ import annotations

import structlog
from fastapi import FastAPI

from portal_api.accounts.service import ensure_admin
from portal_api.admin.tokens import ADMIN_TOKEN_PREFIX, create_admin_token
from portal_api.config import Settings
from portal_api.db import session_scope

log = structlog.get_logger(__name__)


async def bootstrap_admin(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    password = settings.admin_bootstrap_password.get_secret_value()
    token = settings.admin_bootstrap_token.get_secret_value()
    if not (settings.admin_bootstrap_email and password) and not token:
        return
    async for session in session_scope(app.state.session_factory):
        user_id = None
        if settings.admin_bootstrap_email and password:
            user = await ensure_admin(
                session, app.state.passwords, email=settings.admin_bootstrap_email, password=password
            )
            user_id = user.id
            log.info("admin_bootstrapped", email=user.email)
        if token:
            if not token.startswith(ADMIN_TOKEN_PREFIX):
                raise RuntimeError(f"ADMIN_BOOTSTRAP_TOKEN must start with {ADMIN_TOKEN_PREFIX}")
            await create_admin_token(
                session, settings, name="bootstrap", created_by_user_id=user_id, secret=token
            )
