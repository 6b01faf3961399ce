"""The plans on /pricing: Stripe's embedded pricing table when configured, else the portal's own grid.

Switching plans: in the portal's grid with its "Switch to this plan" buttons and their preview dialog;
with Stripe's pricing table, a subscriber gets Stripe's billing portal on its subscription_update flow
instead of the table (which would start a second subscription).
"""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.components.callouts import error_callout, info_callout, loading_block
from my_dev_portal.components.plan_card import plan_card
from my_dev_portal.components.stripe_pricing_table import stripe_pricing_table
from my_dev_portal.components.switch_dialog import switch_dialog
from my_dev_portal.state.auth import AuthState
from my_dev_portal.state.plans import PlansState


def native_pricing_table() -> rx.Component:
    return rx.cond(
        PlansState.loaded,
        rx.cond(
            PlansState.plans.length() > 0,  # type: ignore[attr-defined]
            rx.grid(
                rx.foreach(PlansState.plans, plan_card),
                columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                spacing="4",
                width="100%",
            ),
            rx.cond(PlansState.error == "", info_callout("No plans are on sale yet.")),
        ),
        loading_block("Loading plans…"),
    )


def _portal_switch() -> rx.Component:
    """A subscriber on the Stripe pricing table path: switching happens in Stripe's billing portal."""
    return rx.card(
        rx.vstack(
            rx.heading("Your plan: ", PlansState.current_plan_name, size="5", as_="h2"),
            rx.text(
                "Switch to another plan in Stripe's billing portal: it shows what the switch costs before "
                "you confirm, and brings you back here.",
                size="2",
            ),
            rx.button(
                rx.cond(
                    PlansState.opening_portal, rx.spinner(size="2"), rx.icon("arrow_left_right", size=16)
                ),
                "Change plan",
                on_click=PlansState.open_plan_switch_portal,
                disabled=PlansState.opening_portal | ~PlansState.subscribed,
                id="change-plan-portal",
                size="3",
            ),
            spacing="3",
        ),
        width="100%",
    )


def embedded_pricing_table() -> rx.Component:
    """Stripe's table needs the user's id as client-reference-id, so it is only shown to signed-in users."""
    return rx.cond(
        AuthState.user_id != "",
        rx.cond(
            PlansState.current_price_id != "",
            _portal_switch(),
            stripe_pricing_table(
                pricing_table_id=PlansState.stripe_pricing_table_id,
                publishable_key=PlansState.stripe_publishable_key,
                client_reference_id=AuthState.user_id,
                customer_email=AuthState.user_email,
            ),
        ),
        rx.center(
            rx.link(
                rx.button("Sign in to choose a plan", size="3"),
                href=routes.login_with_next(routes.PRICING),
            ),
            padding_y="3em",
            width="100%",
        ),
    )


def pricing_table() -> rx.Component:
    return rx.vstack(
        rx.cond(
            PlansState.checkout_canceled,
            info_callout("Checkout was canceled; you have not been charged. Pick a plan when ready."),
        ),
        rx.cond(PlansState.error != "", error_callout(PlansState.error)),
        rx.cond(
            PlansState.notice != "", info_callout(PlansState.notice, icon="circle_check", id="plan-notice")
        ),
        rx.cond(PlansState.subscription_blocked != "", info_callout(PlansState.subscription_blocked)),
        rx.cond(PlansState.uses_stripe_pricing_table, embedded_pricing_table(), native_pricing_table()),
        switch_dialog(),
        width="100%",
        spacing="4",
    )
