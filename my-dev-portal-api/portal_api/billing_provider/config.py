"""The Stripe configuration in force: read from the billing provider settings row, secrets decrypted.

The row is the single source of truth for the secret key, API version, publishable key and webhook signing
secrets on every path (plans, checkout, billing portal, webhooks, reporting, reconciliation, the Meter
Test). STRIPE_* environment values only seed it (see connection.py). STRIPE_API_BASE (the emulator's URL)
is deployment, not configuration, and always comes from the environment.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import SecretStr

from portal_api.billing_provider.crypto import SecretBox
from portal_api.billing_provider.models import BillingProviderConfig
from portal_api.config import Settings
from portal_api.stripe_client import GatewayOptions, is_basil_or_later

DEFAULT_API_VERSION = "2020-08-27"
API_VERSION_PATTERN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(\.[a-z]+)?$")
Purpose = Literal["api", "reporting"]


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
    previous_webhook_secret: SecretStr | None = None
    previous_webhook_secret_expires_at: datetime | None = None

    @property
    def billing_meters(self) -> bool:
        """From 2025-03-31.basil on, usage goes to Billing Meters (legacy usage records are gone)."""
        return is_basil_or_later(self.api_version)

    @property
    def fingerprint(self) -> str:
        """Identifies the Stripe account and version (for caching gateways); reveals nothing of the key."""
        raw = f"{self.api_key.get_secret_value()}|{self.api_version}|{self.api_base}"
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    def webhook_secrets(self, now: datetime) -> list[str]:
        """Secrets a delivery may be signed with now: the current one, and the previous one in its grace."""
        found = [self.webhook_secret.get_secret_value()]
        previous = self.previous_webhook_secret
        expires = self.previous_webhook_secret_expires_at
        if previous is not None and expires is not None and now < expires:
            found.append(previous.get_secret_value())
        return [secret for secret in found if secret]

    def gateway_options(self, settings: Settings, purpose: Purpose) -> GatewayOptions:
        """Reporting retries on its own (same idempotency key), so its gateway has no SDK retries."""
        if purpose == "reporting":
            return GatewayOptions(
                self.api_key, self.api_version, self.api_base, settings.reporting_stripe_timeout_seconds, 0
            )
        return GatewayOptions(
            self.api_key,
            self.api_version,
            self.api_base,
            settings.stripe_timeout_seconds,
            settings.stripe_max_retries,
        )


def environment_config(settings: Settings) -> StripeConfig:
    return StripeConfig(
        api_key=settings.stripe_api_key,
        api_version=settings.stripe_api_version or DEFAULT_API_VERSION,
        publishable_key=None,
        webhook_secret=settings.stripe_webhook_secret,
        api_base=settings.stripe_api_base,
        source="environment",
    )


def environment_fingerprint(settings: Settings) -> str:
    """Changes when any STRIPE_* value that seeds the row changes; reveals nothing of the secrets."""
    env = environment_config(settings)
    raw = f"{env.api_key.get_secret_value()}|{env.api_version}|{env.webhook_secret.get_secret_value()}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _decrypted(box: SecretBox, token: str | None) -> SecretStr | None:
    return SecretStr(box.decrypt(token)) if token else None


def config_from_row(row: BillingProviderConfig | None, settings: Settings) -> StripeConfig:
    """The configuration a row holds; a missing row or field means the environment's value."""
    env = environment_config(settings)
    if row is None:
        return env
    box = SecretBox(settings.secret_key.get_secret_value())
    return StripeConfig(
        api_key=_decrypted(box, row.secret_key_encrypted) or env.api_key,
        api_version=row.api_version or env.api_version,
        publishable_key=row.publishable_key,
        webhook_secret=_decrypted(box, row.webhook_secret_encrypted) or env.webhook_secret,
        api_base=env.api_base,
        source="environment" if row.source == "environment" else "database",
        previous_webhook_secret=_decrypted(box, row.previous_webhook_secret_encrypted),
        previous_webhook_secret_expires_at=row.previous_webhook_secret_expires_at,
    )
