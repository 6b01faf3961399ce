"""The plans on /pricing: Stripe's embedded pricing table when configured, else the portal's own grid."""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.components.callouts import error_callout, info_callout, loading_block
from my_dev_portal.components.plan_card import plan_card
from my_dev_portal.components.stripe_pricing_table import stripe_pricing_table
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


def embedded_pricing_table() -> rx.Component:
    """Stripe's table needs the user's id as client-reference-id, so it is only shown to signed-in users."""
    return rx.cond(
        AuthState.user_id != "",
        stripe_pricing_table(
            pricing_table_id=PlansState.stripe_pricing_table_id,
            publishable_key=PlansState.stripe_publishable_key,
            client_reference_id=AuthState.user_id,
            customer_email=AuthState.user_email,
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
        rx.cond(PlansState.uses_stripe_pricing_table, embedded_pricing_table(), native_pricing_table()),
        width="100%",
        spacing="4",
    )
