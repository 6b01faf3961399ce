"""Admin billing provider settings: Stripe keys (write-only), API version, webhook URL and activity."""

from __future__ import annotations

import reflex as rx

from my_dev_portal.api_client import ApiError, BillingProvider
from my_dev_portal.prices import format_date
from my_dev_portal.state.admin_base import AdminState

DEFAULT_API_VERSION = "2020-08-27"
# Which form field each of the API's error codes is about.
FIELD_OF_CODE = {
    "invalid_secret_key": "secret_key",
    "invalid_publishable_key": "publishable_key",
    "invalid_api_version": "api_version",
    "invalid_webhook_secret": "webhook_secret",
    "key_mode_mismatch": "publishable_key",
}


class AdminBillingProviderState(AdminState, rx.State):
    """What is in force (secrets only as "set" + last 4), and the form that changes it."""

    saving: bool = False

    source: str = ""
    secret_key_set: bool = False
    secret_key_hint: str = ""
    mode: str = ""
    publishable_key: str = ""
    api_version: str = DEFAULT_API_VERSION
    reporting: str = ""
    webhook_url: str = ""
    webhook_secret_set: bool = False
    webhook_arriving: bool = False
    webhook_activity: str = ""
    updated: str = ""

    secret_key_error: str = ""
    publishable_key_error: str = ""
    api_version_error: str = ""
    webhook_secret_error: str = ""
    form_error: str = ""

    @rx.event
    async def load(self):
        api = await self._admin_api()
        if api is None:
            return None
        self.error = ""
        try:
            provider = await api.billing_provider()
        except ApiError as exc:
            self.loaded = True
            return await self._failed(exc, "The billing provider settings could not be loaded")
        self._show(provider)
        self.loaded = True
        return None

    def _show(self, provider: BillingProvider) -> None:
        self.source = provider.source
        self.secret_key_set = provider.secret_key_set
        self.secret_key_hint = f"…{provider.secret_key_last4}" if provider.secret_key_last4 else ""
        self.mode = provider.mode or ""
        self.publishable_key = provider.publishable_key or ""
        self.api_version = provider.api_version or DEFAULT_API_VERSION
        self.reporting = {
            "usage_records": "Usage records (legacy metered billing)",
            "billing_meters": "Billing Meter events",
        }.get(provider.reporting or "", provider.reporting or "")
        webhook = provider.webhook
        self.webhook_url = webhook.url if webhook else ""
        self.webhook_secret_set = bool(webhook and webhook.signing_secret_set)
        self.webhook_arriving = bool(webhook and webhook.arriving)
        if webhook is None:
            self.webhook_activity = ""
        elif webhook.arriving:
            self.webhook_activity = f"{webhook.received_last_24h} events received in the last 24 hours."
        elif webhook.last_received_at is not None:
            last = format_date(webhook.last_received_at)
            self.webhook_activity = f"No event in the last 24 hours; the last one arrived on {last}."
        else:
            self.webhook_activity = "No event has arrived yet."
        when = format_date(provider.updated_at)
        self.updated = f"Saved {when} by {provider.updated_by}" if when and provider.updated_by else ""

    def _clear_errors(self) -> None:
        self.secret_key_error = self.publishable_key_error = self.api_version_error = ""
        self.webhook_secret_error = self.form_error = ""

    @rx.event
    async def save(self, form_data: dict[str, str]):
        """Send what was typed; empty secret fields keep the stored secrets (they are never shown back)."""
        self._clear_errors()
        changes: dict[str, str | None] = {"provider": "stripe"}
        for field in ("secret_key", "webhook_secret"):
            value = form_data.get(field, "").strip()
            if value:
                changes[field] = value
        changes["publishable_key"] = form_data.get("publishable_key", "").strip()
        changes["api_version"] = form_data.get("api_version", "").strip() or DEFAULT_API_VERSION
        api = await self._admin_api()
        if api is None:
            return
        self.saving = True
        yield
        try:
            provider = await api.update_billing_provider(changes)
        except ApiError as exc:
            self.saving = False
            if (refused := await self._refusal(exc)) is not None:
                yield refused
                return
            field_name = FIELD_OF_CODE.get(exc.code)
            if field_name is None:
                self.form_error = exc.message
            else:
                setattr(self, f"{field_name}_error", exc.message)
            return
        self.saving = False
        self._show(provider)
        # The secrets typed in leave the page: the inputs are emptied, only "set …1234" remains.
        yield [
            rx.set_value("secret_key", ""),
            rx.set_value("webhook_secret", ""),
            rx.toast.success("Billing provider settings saved"),
        ]

    @rx.event
    async def clear_secret(self, field: str):
        """Forget a stored secret so the environment's STRIPE_* value applies again."""
        if field not in ("secret_key", "webhook_secret"):
            return None
        api = await self._admin_api()
        if api is None:
            return None
        self._clear_errors()
        try:
            provider = await api.update_billing_provider({"provider": "stripe", field: ""})
        except ApiError as exc:
            if (refused := await self._refusal(exc)) is not None:
                return refused
            self.form_error = exc.message
            return None
        self._show(provider)
        return None
