"""`/return`: where Stripe Checkout sends the customer back; completes the session, shows the first key."""

from __future__ import annotations

import reflex as rx

from my_dev_portal import routes
from my_dev_portal.components.callouts import error_callout, info_callout, loading_block
from my_dev_portal.components.secret_reveal import secret_reveal
from my_dev_portal.state.checkout import CheckoutReturnState as S
from my_dev_portal.templates import protected, template


def _dashboard_button(label: str = "Go to your dashboard") -> rx.Component:
    return rx.link(rx.button(label, rx.icon("arrow_right", size=16), size="3"), href=routes.DASHBOARD)


def _done() -> rx.Component:
    return rx.vstack(
        rx.heading("You are subscribed", size="7", as_="h1"),
        rx.text(
            "Plan ",
            rx.text.strong(S.plan_name, id="subscribed-plan"),
            rx.cond(S.subscription_status != "", rx.fragment(" · ", S.subscription_status)),
            rx.cond(S.period_end != "", rx.fragment(" · renews ", S.period_end)),
            size="4",
        ),
        rx.cond(
            S.key_secret != "",
            secret_reveal(S.key_name, S.key_secret),
            info_callout(
                rx.fragment(
                    "Your first API key was created with your subscription and its secret was not shown "
                    "here. "
                    "Create a new key on the dashboard to see its secret.",
                ),
                icon="key_round",
            ),
        ),
        _dashboard_button(),
        spacing="4",
        width="100%",
    )


def _problem(title: str, body: rx.Component, action: rx.Component) -> rx.Component:
    return rx.vstack(rx.heading(title, size="7", as_="h1"), body, action, spacing="4", width="100%")


@template
@protected
def checkout_return() -> rx.Component:
    return rx.box(
        rx.match(
            S.outcome,
            ("loading", loading_block("Confirming your payment with Stripe…", height="16em")),
            ("done", _done()),
            (
                "canceled",
                _problem(
                    "Checkout canceled",
                    info_callout(
                        "No payment was taken and nothing changed. You can pick a plan again any time."
                    ),
                    rx.link(rx.button("Back to pricing", size="3"), href=routes.PRICING),
                ),
            ),
            (
                "unpaid",
                _problem(
                    "Payment not completed",
                    error_callout(S.message),
                    rx.link(rx.button("Back to pricing", size="3"), href=routes.PRICING),
                ),
            ),
            (
                "not_found",
                _problem(
                    "Checkout not found",
                    error_callout(
                        rx.fragment(
                            "This checkout session does not exist or belongs to another account. ", S.message
                        )
                    ),
                    _dashboard_button(),
                ),
            ),
            _problem("Something went wrong", error_callout(S.message), _dashboard_button()),
        ),
        min_height="16em",
        width="100%",
    )
