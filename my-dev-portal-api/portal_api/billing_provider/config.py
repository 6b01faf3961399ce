"""The effective Stripe configuration: the admin's stored settings, else the STRIPE_* environment.

Everything that calls Stripe for reporting, the Meter Test and invoice previews builds its gateway from
`effective_stripe_config()`, so a key or API version entered in the admin settings takes effect without a
restart. Each stored field falls back to its environment value on its own (a row may set only the version).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from portal_api.billing_provider.crypto import SecretBox
from portal_api.billing_provider.models import SINGLETON_ID, BillingProviderConfig
from portal_api.config import Settings
from portal_api.stripe_client import is_basil_or_later

DEFAULT_API_VERSION = "2020-08-27"
API_VERSION_PATTERN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(\.[a-z]+)?$")


def api_version_problem(value: str) -> str | None:
    """Why `value` is not a Stripe API version (YYYY-MM-DD or YYYY-MM-DD.name), or None when it is one."""
    match = API_VERSION_PATTERN.match(value)
    if match is None:
        return "api_version must look like 2020-08-27 or 2025-03-31.basil"
    try:
        date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return f"api_version {value!r} is not a real date"
    return None


@dataclass(frozen=True)
class StripeConfig:
    api_key: SecretStr
    api_version: str
    publishable_key: str | None
    webhook_secret: SecretStr
    api_base: str
    source: Literal["database", "environment"]

    @property
    def billing_meters(self) -> bool:
        """From 2025-03-31.basil on, usage goes to Billing Meters (legacy usage records are gone)."""
        return is_basil_or_later(self.api_version)

    @property
    def fingerprint(self) -> str:
        """Identifies the Stripe account and version (for caching gateways); reveals nothing of the key."""
        raw = f"{self.api_key.get_secret_value()}|{self.api_version}|{self.api_base}"
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    def as_settings(self, settings: Settings, **overrides: object) -> Settings:
        """`settings` with the STRIPE_* fields replaced by this configuration (for a StripeGateway)."""
        update: dict[str, object] = {
            "stripe_api_key": self.api_key,
            "stripe_api_version": self.api_version,
            "stripe_webhook_secret": self.webhook_secret,
            "stripe_api_base": self.api_base,
        }
        update.update(overrides)
        return settings.model_copy(update=update)


def environment_config(settings: Settings) -> StripeConfig:
    return StripeConfig(
        api_key=settings.stripe_api_key,
        api_version=settings.stripe_api_version or DEFAULT_API_VERSION,
        publishable_key=None,
        webhook_secret=settings.stripe_webhook_secret,
        api_base=settings.stripe_api_base,
        source="environment",
    )


async def stored_config(session: AsyncSession) -> BillingProviderConfig | None:
    return await session.get(BillingProviderConfig, SINGLETON_ID)


def config_from_row(row: BillingProviderConfig | None, settings: Settings) -> StripeConfig:
    env = environment_config(settings)
    if row is None:
        return env
    box = SecretBox(settings.secret_key.get_secret_value())
    api_key = SecretStr(box.decrypt(row.secret_key_encrypted)) if row.secret_key_encrypted else env.api_key
    webhook_secret = (
        SecretStr(box.decrypt(row.webhook_secret_encrypted))
        if row.webhook_secret_encrypted
        else env.webhook_secret
    )
    return StripeConfig(
        api_key=api_key,
        api_version=row.api_version or env.api_version,
        publishable_key=row.publishable_key,
        webhook_secret=webhook_secret,
        api_base=env.api_base,
        source="database",
    )


async def effective_stripe_config(session: AsyncSession, settings: Settings) -> StripeConfig:
    """The Stripe configuration in force now (stored settings over environment)."""
    return config_from_row(await stored_config(session), settings)
