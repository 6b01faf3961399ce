"""Start-up seeding of the provider admin user and the admin API tokens from the *_BOOTSTRAP_* settings.

ADMIN_BOOTSTRAP_TOKEN gets ADMIN_BOOTSTRAP_TOKEN_SCOPES (all by default: it is the operator's own);
GATEWAY_BOOTSTRAP_TOKEN gets verify + ingest, all an API gateway needs.
"""

from __future__ import annotations

import structlog

from portal_api.accounts.service import ensure_admin
from portal_api.admin.scopes import GATEWAY_SCOPES
from portal_api.admin.tokens import create_admin_token
from portal_api.core.container import Services
from portal_api.security import ADMIN_TOKEN_PREFIX

log = structlog.get_logger(__name__)


async def bootstrap_admin(services: Services) -> None:
    settings = services.settings
    password = settings.admin_bootstrap_password.get_secret_value()
    candidates: list[tuple[str, str, list[str]]] = [
        (
            "bootstrap",
            settings.admin_bootstrap_token.get_secret_value(),
            settings.admin_bootstrap_token_scopes,
        ),
        ("gateway", settings.gateway_bootstrap_token.get_secret_value(), list(GATEWAY_SCOPES)),
    ]
    tokens = [(name, secret, scopes) for name, secret, scopes in candidates if secret]
    for name, secret, _ in tokens:
        if not secret.startswith(ADMIN_TOKEN_PREFIX):
            raise RuntimeError(f"the {name} bootstrap token must start with {ADMIN_TOKEN_PREFIX}")
    with_user = bool(settings.admin_bootstrap_email and password)
    if not with_user and not tokens:
        return
    password_hash = await services.passwords.hash(password) if with_user else ""
    async with services.database.write() as session:
        user_id = None
        if with_user:
            user = await ensure_admin(
                session, email=settings.admin_bootstrap_email, password_hash=password_hash
            )
            user_id = user.id
            log.info("admin_bootstrapped", email=user.email)
        for name, secret, scopes in tokens:
            await create_admin_token(
                session, settings, name=name, created_by_user_id=user_id, scopes=scopes, secret=secret
            )
