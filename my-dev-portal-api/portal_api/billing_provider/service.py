"""Billing provider rules: seeding the row from STRIPE_*, saving console changes (encrypted), rotations.

Saving a new webhook signing secret keeps the one it replaces acceptable for STRIPE_WEBHOOK_SECRET_GRACE_HOURS
(Stripe signs with both while a rolled secret expires), so no delivery is refused during a rotation.
Every change is announced on the change feed (topic `billing_provider`) so this process uses it at once;
other processes re-read the row within STRIPE_CONFIG_REFRESH_SECONDS.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing_provider.config import (
    DEFAULT_API_VERSION,
    StripeConfig,
    api_version_problem,
    config_from_row,
    environment_fingerprint,
)
from portal_api.billing_provider.crypto import SecretBox
from portal_api.billing_provider.models import SINGLETON_ID, BillingProviderConfig
from portal_api.billing_provider.schemas import BillingProviderUpdate
from portal_api.config import Settings
from portal_api.core.changes import announce
from portal_api.db import utcnow
from portal_api.errors import Unprocessable

log = structlog.get_logger(__name__)

SECRET_KEY_PATTERN = re.compile(r"^(sk|rk)_(live|test)_[A-Za-z0-9_]{4,}$")
PUBLISHABLE_KEY_PATTERN = re.compile(r"^pk_(live|test)_[A-Za-z0-9_]{4,}$")
WEBHOOK_SECRET_PATTERN = re.compile(r"^whsec_[A-Za-z0-9_+/=]{4,}$")
ENVIRONMENT = "environment"


def key_mode(key: str) -> str | None:
    for mode in ("live", "test"):
        if f"_{mode}_" in key[:8]:
            return mode
    return None


async def stored_config(session: AsyncSession) -> BillingProviderConfig | None:
    return await session.get(BillingProviderConfig, SINGLETON_ID)


def _set_webhook_secret(
    row: BillingProviderConfig, box: SecretBox, secret: str, *, now: datetime, grace: timedelta
) -> None:
    """Store `secret` as the signing secret; the one it replaces stays acceptable for `grace`. Clearing
    it (no secret: webhooks off) keeps no previous one."""
    current = box.decrypt(row.webhook_secret_encrypted) if row.webhook_secret_encrypted else ""
    if secret == current:
        return
    row.previous_webhook_secret_encrypted = None
    row.previous_webhook_secret_expires_at = None
    if current and secret and grace > timedelta(0):
        row.previous_webhook_secret_encrypted = row.webhook_secret_encrypted
        row.previous_webhook_secret_expires_at = now + grace
    row.webhook_secret_encrypted = box.encrypt(secret) if secret else None


def _write_environment(row: BillingProviderConfig, settings: Settings, box: SecretBox, now: datetime) -> None:
    key = settings.stripe_api_key.get_secret_value()
    row.secret_key_encrypted = box.encrypt(key) if key else None
    row.secret_key_last4 = key[-4:] if key else None
    row.api_version = settings.stripe_api_version or DEFAULT_API_VERSION
    grace = timedelta(hours=settings.stripe_webhook_secret_grace_hours)
    _set_webhook_secret(row, box, settings.stripe_webhook_secret.get_secret_value(), now=now, grace=grace)
    row.environment_fingerprint = environment_fingerprint(settings)


async def seed_from_environment(session: AsyncSession, settings: Settings) -> None:
    """At start-up: write STRIPE_* into the row when there is none, or when the environment changed and
    nobody edited the settings in the console since. A console-saved row wins; a differing environment is
    then only logged. Empty fields of an old row (which fell back to the environment) are filled in."""
    row = await stored_config(session)
    now = utcnow()
    box = SecretBox(settings.secret_key.get_secret_value())
    fingerprint = environment_fingerprint(settings)
    if row is None:
        row = BillingProviderConfig(
            id=SINGLETON_ID, provider="stripe", source=ENVIRONMENT, updated_by=ENVIRONMENT
        )
        _write_environment(row, settings, box, now)
        session.add(row)
        announce(session, "billing_provider")
        return
    if row.source == ENVIRONMENT:
        if row.environment_fingerprint != fingerprint:
            _write_environment(row, settings, box, now)
            row.updated_at, row.updated_by = now, ENVIRONMENT
            announce(session, "billing_provider")
            log.info("billing_provider_updated_from_environment")
        return
    if row.environment_fingerprint not in (None, fingerprint):
        log.warning(
            "billing_provider_environment_ignored",
            detail="STRIPE_* in the environment differ from the settings saved in the console; "
            "the console's apply (clear a field there to take the environment's value)",
        )
    filled = config_from_row(row, settings)  # fills a field left empty from the environment
    if row.secret_key_encrypted is None and filled.api_key.get_secret_value():
        row.secret_key_encrypted = box.encrypt(filled.api_key.get_secret_value())
        row.secret_key_last4 = filled.api_key.get_secret_value()[-4:]
    if row.webhook_secret_encrypted is None and filled.webhook_secret.get_secret_value():
        row.webhook_secret_encrypted = box.encrypt(filled.webhook_secret.get_secret_value())
    row.environment_fingerprint = fingerprint


def check_update(body: BillingProviderUpdate) -> None:
    if body.secret_key and not SECRET_KEY_PATTERN.match(body.secret_key):
        raise Unprocessable(
            "secret_key must be a Stripe secret or restricted key (sk_live_..., sk_test_..., rk_...)",
            code="invalid_secret_key",
        )
    if body.publishable_key and not PUBLISHABLE_KEY_PATTERN.match(body.publishable_key):
        raise Unprocessable(
            "publishable_key must be a Stripe publishable key (pk_live_... or pk_test_...)",
            code="invalid_publishable_key",
        )
    if body.api_version:
        problem = api_version_problem(body.api_version)
        if problem:
            raise Unprocessable(problem, code="invalid_api_version")
    if body.webhook_secret and not WEBHOOK_SECRET_PATTERN.match(body.webhook_secret):
        raise Unprocessable(
            "webhook_secret must be a Stripe signing secret (whsec_...)", code="invalid_webhook_secret"
        )


async def update(
    session: AsyncSession, settings: Settings, body: BillingProviderUpdate, *, updated_by: str
) -> tuple[BillingProviderConfig, StripeConfig]:
    """Apply a console save. Fields left out keep their value; an empty one takes the environment's."""
    check_update(body)
    given = body.model_fields_set
    now = utcnow()
    row = await stored_config(session)
    if row is None:
        row = BillingProviderConfig(
            id=SINGLETON_ID, provider="stripe", api_version=settings.stripe_api_version or DEFAULT_API_VERSION
        )
        session.add(row)
    box = SecretBox(settings.secret_key.get_secret_value())
    if "secret_key" in given:
        key = body.secret_key or settings.stripe_api_key.get_secret_value()
        row.secret_key_encrypted = box.encrypt(key) if key else None
        row.secret_key_last4 = key[-4:] if key else None
    if "publishable_key" in given:
        row.publishable_key = body.publishable_key or None
    if "api_version" in given:
        row.api_version = body.api_version or settings.stripe_api_version or DEFAULT_API_VERSION
    if "webhook_secret" in given:
        secret = body.webhook_secret or settings.stripe_webhook_secret.get_secret_value()
        grace = timedelta(hours=settings.stripe_webhook_secret_grace_hours)
        _set_webhook_secret(row, box, secret, now=now, grace=grace)
    row.provider = body.provider
    row.source = "database"
    row.environment_fingerprint = environment_fingerprint(settings)
    row.updated_by = updated_by
    row.updated_at = now
    config = config_from_row(row, settings)
    secret_mode = key_mode(config.api_key.get_secret_value())
    publishable_mode = key_mode(config.publishable_key or "")
    if secret_mode and publishable_mode and secret_mode != publishable_mode:
        raise Unprocessable(
            f"The secret key is a {secret_mode} key but the publishable key is a {publishable_mode} key; "
            "both must come from the same mode",
            code="key_mode_mismatch",
        )
    await session.flush()
    announce(session, "billing_provider")
    return row, config
