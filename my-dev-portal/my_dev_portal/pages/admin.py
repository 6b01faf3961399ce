"""`/admin`: the provider console's overview: a health summary and a card for each section."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from my_dev_portal import routes
from my_dev_portal.components.admin_shell import admin_page
from my_dev_portal.components.callouts import error_callout, loading_block
from my_dev_portal.state.admin import AdminOverviewState
from my_dev_portal.state.admin_meters import DoubledView, UnbilledView
from my_dev_portal.templates import admin_only, template


def _health(label: str, ok: rx.Var[bool] | bool, text: rx.Var[str] | str, href: str) -> rx.Component:
    return rx.link(
        rx.card(
            rx.hstack(
                rx.cond(
                    ok,
                    rx.icon("circle_check", color=rx.color("green", 9), size=22, flex_shrink="0"),
                    rx.icon("circle_alert", color=rx.color("orange", 9), size=22, flex_shrink="0"),
                ),
                rx.vstack(
                    rx.text(label, weight="medium"),
                    rx.text(text, size="2", color_scheme="gray"),
                    spacing="0",
                ),
                align="center",
                spacing="3",
            ),
            width="100%",
            height="100%",
            _hover={"background": rx.color("gray", 2)},
        ),
        href=href,
        underline="none",
        high_contrast=True,
        width="100%",
    )


def _section(icon: str, title: str, text: str, href: str) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.icon(icon, size=22, color=rx.color("accent", 10)),
                rx.heading(title, size="4", as_="h3"),
                rx.text(text, size="2", color_scheme="gray"),
                spacing="2",
            ),
            width="100%",
            height="100%",
            _hover={"background": rx.color("gray", 2)},
        ),
        href=href,
        underline="none",
        high_contrast=True,
    )


def _unbilled_item(price: ObjectVar[UnbilledView]) -> rx.Component:
    return rx.el.li(rx.text(price.label, " ", rx.code(price.price_id, size="1", variant="ghost"), size="2"))


def _doubled_item(price: ObjectVar[DoubledView]) -> rx.Component:
    return rx.el.li(rx.text(price.label, ": ", price.meters, size="2"))


def _billing_warnings() -> rx.Component:
    """Metered prices whose usage is never billed (no meter), or billed twice: a money leak either way."""
    S = AdminOverviewState
    return rx.fragment(
        rx.cond(
            S.unbilled.length() > 0,  # type: ignore[attr-defined]
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle_alert")),
                rx.vstack(
                    rx.callout.text(
                        rx.el.strong("Usage for these prices is never billed: "),
                        "no active meter counts it.",
                    ),
                    rx.el.ul(rx.foreach(S.unbilled, _unbilled_item), margin="0", padding_left="1.2em"),
                    rx.link("Create their meters on the Meters page", href=routes.ADMIN_METERS, size="2"),
                    spacing="1",
                ),
                color_scheme="orange",
                role="alert",
                width="100%",
                id="unbilled-prices-warning",
            ),
        ),
        rx.cond(
            S.double_metered.length() > 0,  # type: ignore[attr-defined]
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle_alert")),
                rx.vstack(
                    rx.callout.text(
                        rx.el.strong("Usage for these prices is billed twice: "),
                        "more than one active meter bills each.",
                    ),
                    rx.el.ul(rx.foreach(S.double_metered, _doubled_item), margin="0", padding_left="1.2em"),
                    rx.link("Switch all but one off on the Meters page", href=routes.ADMIN_METERS, size="2"),
                    spacing="1",
                ),
                color_scheme="red",
                role="alert",
                width="100%",
                id="double-metered-warning",
            ),
        ),
    )


@template
@admin_only
def admin_overview() -> rx.Component:
    return admin_page(
        "Overview",
        "Is billing set up, does Stripe reach us, is usage being reported: at a glance.",
        routes.ADMIN,
        rx.cond(AdminOverviewState.error != "", error_callout(AdminOverviewState.error)),
        rx.heading("Health", size="4", as_="h2"),
        rx.cond(
            AdminOverviewState.loaded,
            rx.grid(
                _health(
                    "Billing provider",
                    AdminOverviewState.provider_ok,
                    AdminOverviewState.provider_text,
                    routes.ADMIN_BILLING_PROVIDER,
                ),
                _health(
                    "Stripe webhooks",
                    AdminOverviewState.webhooks_ok,
                    AdminOverviewState.webhooks_text,
                    routes.ADMIN_BILLING_PROVIDER,
                ),
                _health(
                    "Meters",
                    AdminOverviewState.meters_ok,
                    AdminOverviewState.meters_text,
                    routes.ADMIN_METERS,
                ),
                _health(
                    "Usage reporting",
                    AdminOverviewState.reporting_ok,
                    AdminOverviewState.reporting_text,
                    routes.ADMIN_REPORT_RUNS,
                ),
                columns=rx.breakpoints(initial="1", sm="2", md="4"),
                spacing="3",
                width="100%",
                id="admin-health",
            ),
            loading_block("Checking health…", height="6em"),
        ),
        rx.cond(AdminOverviewState.loaded, _billing_warnings()),
        rx.cond(
            AdminOverviewState.loaded & (AdminOverviewState.system_status != ""),
            rx.vstack(
                rx.hstack(
                    rx.heading("System", size="4", as_="h2"),
                    rx.badge(
                        AdminOverviewState.system_status,
                        color_scheme=rx.cond(AdminOverviewState.system_status == "ok", "green", "orange"),
                        variant="soft",
                        id="system-status",
                    ),
                    align="center",
                ),
                rx.grid(
                    _health(
                        "Database",
                        AdminOverviewState.database_ok,
                        AdminOverviewState.database_text,
                        routes.ADMIN,
                    ),
                    _health(
                        "Stripe API",
                        AdminOverviewState.stripe_ok,
                        AdminOverviewState.stripe_text,
                        routes.ADMIN,
                    ),
                    _health(
                        "Webhook inbox",
                        AdminOverviewState.inbox_ok,
                        AdminOverviewState.inbox_text,
                        routes.ADMIN_BILLING_PROVIDER,
                    ),
                    _health("Ingest", True, AdminOverviewState.ingest_text, routes.ADMIN_CUSTOMERS),
                    columns=rx.breakpoints(initial="1", sm="2", md="4"),
                    spacing="3",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
        ),
        rx.heading("Sections", size="4", as_="h2"),
        rx.grid(
            _section(
                "credit_card",
                "Billing provider",
                "Stripe keys, API version and the webhook endpoint to paste into Stripe.",
                routes.ADMIN_BILLING_PROVIDER,
            ),
            _section(
                "gauge",
                "Meters",
                "What counts as usage, which Stripe price bills it, and a Meter Test against Stripe.",
                routes.ADMIN_METERS,
            ),
            _section(
                "users",
                "Customers",
                "Subscribers, their usage this period and the usage reported to Stripe.",
                routes.ADMIN_CUSTOMERS,
            ),
            _section(
                "activity",
                "Report runs",
                "Each run of the usage reporter: status, lag behind real time and errors.",
                routes.ADMIN_REPORT_RUNS,
            ),
            _section(
                "key_round",
                "Tokens",
                "Admin API tokens for scripts and collector tokens for Moesif middlewares.",
                routes.ADMIN_TOKENS,
            ),
            columns=rx.breakpoints(initial="1", sm="2", md="3"),
            spacing="3",
            width="100%",
        ),
    )
