"""`/admin/billing-provider`: Stripe keys (write-only), API version, and the webhook endpoint for Stripe."""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.components.admin_shell import admin_page
from my_dev_portal.components.callouts import error_callout, info_callout, loading_block
from my_dev_portal.components.form_field import form_field
from my_dev_portal.state.admin_billing_provider import DEFAULT_API_VERSION, AdminBillingProviderState
from my_dev_portal.templates import admin_only, template

S = AdminBillingProviderState


def _secret_status(is_set: rx.Var[bool] | bool, hint: rx.Var[str] | str, field: str) -> rx.Component:
    return rx.hstack(
        rx.cond(
            is_set,
            rx.badge(rx.icon("lock", size=12), "Set ", hint, color_scheme="green", variant="soft"),
            rx.badge("Not set", color_scheme="orange", variant="soft"),
        ),
        rx.cond(
            is_set & (S.source == "database"),
            rx.button(
                "Remove",
                on_click=S.clear_secret(field),  # type: ignore[operator]
                size="1",
                variant="ghost",
                color_scheme="red",
                type="button",
                aria_label=f"Remove the stored {field.replace('_', ' ')}",
            ),
        ),
        align="center",
        spacing="2",
    )


def _keys_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.hstack(
                rx.heading("Stripe account", size="4", as_="h2"),
                rx.spacer(),
                rx.cond(S.mode != "", rx.badge(S.mode, " mode", variant="outline")),
                width="100%",
                align="center",
            ),
            rx.cond(S.form_error != "", error_callout(S.form_error, id="billing-form-error")),
            rx.hstack(
                rx.text("Secret key", size="2", color_scheme="gray"),
                _secret_status(S.secret_key_set, S.secret_key_hint, "secret_key"),
                align="center",
            ),
            form_field(
                "New secret key",
                "secret_key",
                type_="password",
                autocomplete="off",
                placeholder="sk_live_… or rk_live_…",
                error=S.secret_key_error,
                hint="Write-only: stored encrypted, never shown again. Leave blank to keep the current key.",
            ),
            form_field(
                "Publishable key",
                "publishable_key",
                placeholder="pk_live_…",
                error=S.publishable_key_error,
                hint="Public; used by Stripe's pricing table in the browser.",
                default_value=S.publishable_key,
            ),
            form_field(
                "API version",
                "api_version",
                placeholder=DEFAULT_API_VERSION,
                error=S.api_version_error,
                hint="2020-08-27 reports usage records; 2025-03-31.basil and later, Billing Meter events.",
                default_value=S.api_version,
            ),
            rx.hstack(
                rx.text("Webhook signing secret", size="2", color_scheme="gray"),
                _secret_status(S.webhook_secret_set, "", "webhook_secret"),
                align="center",
            ),
            form_field(
                "New webhook signing secret",
                "webhook_secret",
                type_="password",
                autocomplete="off",
                placeholder="whsec_…",
                error=S.webhook_secret_error,
                hint="From the endpoint you add in Stripe. Write-only; leave blank to keep the current one.",
            ),
            rx.hstack(
                rx.button(
                    rx.cond(S.saving, rx.spinner(size="2"), rx.icon("save", size=16)),
                    "Save settings",
                    type="submit",
                    size="3",
                    disabled=S.saving,
                ),
                rx.cond(S.updated != "", rx.text(S.updated, size="1", color_scheme="gray")),
                align="center",
                spacing="3",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=S.save,
        reset_on_submit=False,
        width="100%",
        custom_attrs={"noValidate": True, "aria-label": "Billing provider settings"},
    )


def _webhook_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Webhooks", size="4", as_="h2"),
            rx.text(
                "In Stripe, add an endpoint (Developers → Webhooks) with this URL, then paste its "
                "signing secret on the left.",
                size="2",
                color_scheme="gray",
            ),
            rx.hstack(
                rx.code(S.webhook_url, id="webhook-url", variant="outline", word_break="break_all"),
                rx.button(
                    rx.icon("copy", size=14),
                    "Copy",
                    on_click=[rx.set_clipboard(S.webhook_url), rx.toast.success("Webhook URL copied")],
                    variant="soft",
                    size="1",
                    aria_label="Copy the webhook URL",
                ),
                align="center",
                wrap="wrap",
            ),
            rx.hstack(
                rx.cond(
                    S.webhook_arriving,
                    rx.badge(rx.icon("radio", size=12), "Events arriving", color_scheme="green", size="2"),
                    rx.badge("No recent events", color_scheme="orange", size="2"),
                ),
                align="center",
            ),
            rx.text(S.webhook_activity, size="2", id="webhook-activity"),
            rx.divider(),
            rx.heading("Usage reporting", size="3", as_="h3"),
            rx.text(S.reporting, size="2"),
            rx.cond(
                S.source == "environment",
                info_callout(
                    "Nothing saved here yet: the STRIPE_* settings of the API's environment apply.", size="1"
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


@template
@admin_only
def admin_billing_provider() -> rx.Component:
    return admin_page(
        "Billing provider",
        "The Stripe account the portal bills through. Secrets are write-only.",
        routes.ADMIN_BILLING_PROVIDER,
        rx.cond(S.error != "", error_callout(S.error)),
        rx.cond(
            S.loaded,
            rx.grid(
                rx.card(_keys_form(), width="100%"),
                _webhook_card(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            loading_block("Loading settings…"),
        ),
    )
