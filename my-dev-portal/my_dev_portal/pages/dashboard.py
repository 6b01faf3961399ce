"""`/dashboard`: plan, usage, upcoming invoice and API keys of the signed-in customer."""

from __future__ import annotations

import reflex as rx

from my_dev_portal.components.callouts import error_callout
from my_dev_portal.components.keys_table import keys_table
from my_dev_portal.components.plan_summary import invoice_card, subscription_card
from my_dev_portal.components.usage_chart import usage_chart
from my_dev_portal.state.auth import AuthState
from my_dev_portal.state.dashboard import DashboardState
from my_dev_portal.templates import protected, template


@template
@protected
def dashboard() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Dashboard", size="8", as_="h1"),
            rx.spacer(),
            rx.text(AuthState.user_email, color_scheme="gray", size="2"),
            align="center",
            width="100%",
        ),
        rx.cond(DashboardState.error != "", error_callout(DashboardState.error)),
        rx.grid(
            subscription_card(),
            invoice_card(),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        usage_chart(),
        keys_table(),
        spacing="4",
        width="100%",
    )
